/**
 * Runs carton-init: spawns it with the plan socket at fd 3 + preserveFds, lets the caller
 * place it (cgroups) before any op runs, sends the plan, answers SYNCs and turns what the
 * init reports into promises and CartonErrors. See docs/protocol.md.
 */
import type { StdioOptions } from 'child_process';
import * as os from 'os';
import type { Readable, Writable } from 'stream';
import { CartonError, errnoReason } from '../common/errors';
import { ForkMode, Op, OpCode } from '../plan/ops';
import { decodeInitMessage, encodeContinue, encodePlan, FrameReader, InitEvent, NO_OP_INDEX } from '../plan/wire';
import { initPath } from './addon';
import { InitProcess, InitProcessEvents, spawnWithChildProcess, spawnWithAddon } from './init-process';

export type InitStdio = 'inherit' | 'pipe' | 'ignore' | number;

export interface StartInitOptions {
  ops: Op[];
  /** fds 3 .. 3+preserveFds-1 of this process are passed through at the same numbers. */
  preserveFds?: number;
  /** fds 0, 1, 2 of the init (and so of the container unless CONSOLE replaces them). Default inherit. */
  stdio?: InitStdio[];
  /** Runs once the init exists and before the plan is sent: put it in its cgroup here. */
  beforePlan?: (initPid: number) => void | Promise<void>;
  /** Answers a SYNC op: resolve → CONTINUE(0, payload); reject → CONTINUE(1) and the run fails with that error. */
  onSync?: (tag: string, opIndex: number) => Promise<Buffer | void>;
  /** Override the carton-init binary (tests). */
  initPath?: string;
}

export interface ExitStatus {
  code: number;
  signal?: NodeJS.Signals;
}

export interface InitHandle {
  /** Pid of the first init process (what beforePlan got). */
  initPid: number;
  /** Host pid of the container process (PID after FORK; the init itself when the plan has no FORK). */
  containerPid: Promise<number>;
  /**
   * READY reached. For a plan without READY (exec): the container process has exec'd —
   * STARTED from a FORK WAIT parent, or the socket closing (FORK DETACH, no FORK).
   */
  ready: Promise<void>;
  /** How the container process ended (FORK WAIT, or a plan without FORK). Never settles for FORK DETACH. */
  exit: Promise<ExitStatus>;
  /** Everything finished: the init exited and the socket closed (the container exec'd or ended). */
  done: Promise<void>;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Signal the container process (the init until its pid is known). ESRCH is ignored. */
  kill(signal?: NodeJS.Signals | number): void;
  /** Stop holding Node's event loop for this init (done automatically after READY unless FORK WAIT). */
  unref(): void;
  /** Hold the event loop again, e.g. to await `done` after READY in the same process. */
  ref(): void;
  /** How the init was started (see init-process.ts): the addon for plans with a FORK and no stdio pipes. */
  spawnedWith: 'addon' | 'child_process';
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((res, rej) => {
    d.resolve = (v) => { if (!d.settled) { d.settled = true; res(v); } };
    d.reject = (e) => { if (!d.settled) { d.settled = true; rej(e); } };
  });
  d.promise.catch(() => undefined); // callers may await only some of them
  return d;
}

const ENOENT = 2;

/** The CartonError a user reads for an init ERROR message. */
export function initError(ops: Op[], ev: { opIndex: number; errno: number; message: string }): CartonError {
  const reason = errnoReason(ev.errno);
  if (ev.opIndex === NO_OP_INDEX || ev.opIndex >= ops.length) {
    return new CartonError('EINTERNAL', `carton-init: ${ev.message}: ${reason}`);
  }
  const op = ops[ev.opIndex];
  if (op.op === OpCode.LOOKUP || op.op === OpCode.EXEC) {
    const argv0 = op.argv[0];
    if (ev.errno === ENOENT) {
      const msg = argv0.includes('/')
        ? `exec: "${argv0}": stat ${argv0}: ${reason}`
        : `exec: "${argv0}": executable file not found in $PATH`;
      return new CartonError('EEXEC_NOTFOUND', msg, { exitCode: 127 });
    }
    return new CartonError('EEXEC_PERM', `exec: "${argv0}": ${reason}`, { exitCode: 126 });
  }
  return new CartonError('EKERNEL', `${op.source}: ${ev.message}: ${reason}`);
}

export function decodeWaitStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  const name = Object.entries(os.constants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
  return { code: 128 + sig, signal: name };
}

export function startInit(opts: StartInitOptions): InitHandle {
  const { ops } = opts;
  const preserve = opts.preserveFds ?? 0;
  const sockFd = 3 + preserve;
  const fork = ops.find((o) => o.op === OpCode.FORK) as Extract<Op, { op: OpCode.FORK }> | undefined;
  const waits = !fork || fork.mode === ForkMode.WAIT;
  const hasReady = ops.some((o) => o.op === OpCode.READY);

  const stdio: StdioOptions = [...(opts.stdio ?? ['inherit', 'inherit', 'inherit'])];
  while (stdio.length < 3) stdio.push('inherit');
  for (let fd = 3; fd < sockFd; fd++) stdio.push(fd);
  stdio.push('pipe');

  const containerPid = deferred<number>();
  const ready = deferred<void>();
  const exit = deferred<ExitStatus>();
  const done = deferred<void>();
  let failure: unknown;
  let gotExitMessage = false;
  let aborted = false;
  let syncsPending = 0;

  const fail = (err: unknown): void => {
    if (failure === undefined) failure = err;
    for (const d of [containerPid, ready, exit, done] as Deferred<unknown>[]) d.reject(failure);
  };

  const reader = new FrameReader();
  const handle = (ev: InitEvent): void => {
    switch (ev.type) {
      case 'pid':
        containerPid.resolve(ev.pid);
        if (ready.settled && !waits) unref();
        break;
      case 'sync':
        answerSync(ev.opIndex);
        break;
      case 'ready':
        ready.resolve();
        // Only once the pid is known too: the caller still awaits it (the DETACH parent may be slower).
        if (!waits && containerPid.settled) unref();
        break;
      case 'error':
        fail(initError(ops, ev));
        break;
      case 'exit':
        gotExitMessage = true;
        exit.resolve(decodeWaitStatus(ev.status));
        break;
      case 'started':
        if (!hasReady && failure === undefined) ready.resolve();
        break;
    }
  };

  const answerSync = (opIndex: number): void => {
    const op = ops[opIndex];
    const tag = op && op.op === OpCode.SYNC ? op.tag : '';
    const answer = opts.onSync ? opts.onSync(tag, opIndex) : Promise.resolve();
    syncsPending++;
    answer.then(
      (payload) => {
        syncsPending--;
        child.write(encodeContinue(0, payload || undefined));
      },
      (err) => {
        syncsPending--;
        aborted = true;
        fail(err);
        child.write(encodeContinue(1));
      },
    );
  };

  let socketClosed = false;
  let initExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const finish = (): void => {
    if (!socketClosed || !initExit) return;
    if (failure !== undefined || aborted) return fail(failure);
    const { code, signal } = initExit;
    const status = signal ? `signal ${signal}` : `exit status ${code}`;
    if (syncsPending > 0) return fail(new CartonError('EINTERNAL', `carton-init ended while waiting at a SYNC (${status})`));
    if (!fork) exit.resolve(signal ? decodeWaitStatus(os.constants.signals[signal]) : { code: code ?? 0 });
    else if ((code !== 0 || signal) && !gotExitMessage) {
      return fail(new CartonError('EINTERNAL', `carton-init ended without a report (${status})`));
    }
    if (!hasReady) ready.resolve();
    if (!ready.settled) return fail(new CartonError('EINTERNAL', 'carton-init ended before the container was ready'));
    if (!containerPid.settled) containerPid.reject(new CartonError('EINTERNAL', 'carton-init ended without reporting a pid'));
    done.resolve();
  };

  const events: InitProcessEvents = {
    data: (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) handle(decodeInitMessage(f.type, f.payload));
      } catch (err) {
        fail(err);
        killInit();
      }
    },
    close: () => {
      socketClosed = true;
      // DETACH or no FORK: the socket closes when the container process exec's (it is close-on-exec).
      if (!hasReady && !(fork && fork.mode === ForkMode.WAIT) && failure === undefined && !aborted && syncsPending === 0) {
        ready.resolve();
      }
      finish();
    },
    error: (err: Error) => {
      fail(new CartonError('EINTERNAL', `cannot start carton-init: ${err.message}`, { cause: err }));
    },
    exit: (code, signal) => {
      initExit = { code, signal };
      finish();
    },
  };
  const file = opts.initPath ?? initPath();
  // Through the addon: neither child_process nor a fork of this process (init-process.ts).
  // A FORK WAIT plan holds the event loop until the end anyway; a DETACH one is polled until
  // the caller lets go. Without FORK the init becomes the container: child_process's SIGCHLD
  // watch tells its end without polling for its whole life.
  const viaAddon = fork !== undefined && process.env.CARTON_INIT_SPAWN !== 'node';
  const child: InitProcess =
    (viaAddon && spawnWithAddon(file, stdio, sockFd, events, fork.mode === ForkMode.WAIT ? 'wait' : 'poll')) ||
    spawnWithChildProcess(file, stdio, sockFd, events);
  const killInit = (): void => {
    if (child.pid > 0) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };

  const initPid = child.pid;
  if (!fork && initPid > 0) containerPid.resolve(initPid);

  const unref = (): void => child.unref();

  if (initPid > 0) {
    void (async () => {
      try {
        if (opts.beforePlan) await opts.beforePlan(initPid);
        child.write(encodePlan(ops));
      } catch (err) {
        fail(err);
        killInit();
      }
    })();
  }

  let knownPid: number | undefined;
  containerPid.promise.then((p) => { knownPid = p; }, () => undefined);

  return {
    initPid,
    containerPid: containerPid.promise,
    ready: ready.promise,
    exit: exit.promise,
    done: done.promise,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    kill(signal: NodeJS.Signals | number = 'SIGTERM') {
      const target = knownPid ?? initPid;
      if (target <= 0) return;
      try {
        process.kill(target, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    },
    unref,
    ref() {
      child.ref();
    },
    spawnedWith: child.via,
  };
}
