/**
 * One prestarted worker (docs/prestart.md): Node already started and Carton's code loaded,
 * it listens on a socket of its own and waits for the one client that claims it, checks that
 * it may act for it (caller-check.ts), takes on the caller's stdio, working directory, umask,
 * environment and arguments, and runs the command as a cold start would. carton-init is started by the client (caller-link.ts). Its exit
 * status goes back to the client, which exits with it. One command per worker: everything
 * a command may change in its process (environment, handlers, caches) dies with it.
 */
import * as fs from 'fs';
import * as os from 'os';
import { addon } from '../native/addon';
import { setCaller } from '../common/caller';
import { readProcStat } from '../runtime/proc';
import { setTraceOrigin, trace } from '../runtime/trace';
import { refusalReason, selfPortrait, SelfPortrait, startupEnvDifferences, umaskOf } from './caller-check';
import { callerLink } from './caller-link';
import { bundleIdentity, CallerRequest, decodeRequest, encodeRequest, int32s, workerSocketPath } from './protocol';

export interface WorkerOptions {
  /** bin/<program>.js: process.argv[1], as in a cold start. */
  script: string;
  /** The bundle this worker runs: the client must belong to the same build. */
  bundleFile: string;
  /** Where this worker's socket goes: <dir>/<program>.w<pid>, which a client claims by renaming it. */
  dir: string;
  program: string;
  /** The pipe that tells the pool "ready", "taken" and "serving". */
  poolFd: number;
  /** Load the commands' modules before a caller waits for them. */
  prewarm(): void;
  /** The command line's main, as bin/<program>.js runs it (exit status through process.exit/exitCode). */
  runMain(): void;
  /** After the caller has its status and its stdio back: keep the code cache, say. */
  afterCaller?(code: number, args: string[]): void;
}

const SIGTERM = 15;

export function serveOneCaller(o: WorkerOptions): void {
  const startupEnv = { ...process.env };
  const a = addon();
  // An idle worker ends with its pool; one serving a caller finishes the command first.
  a.setParentDeathSignal(SIGTERM);
  if (process.ppid === 1) process.exit(0);
  o.prewarm();
  const identity = bundleIdentity(fs.statSync(o.bundleFile, { bigint: true }));
  const self = selfPortrait();
  rehearse(self, identity);
  // Listening under a temporary name, then renamed: a client never finds a socket nobody listens on.
  const listenFd = a.listenUnix(workerSocketPath(o.dir, o.program, process.pid, 't'));
  fs.renameSync(workerSocketPath(o.dir, o.program, process.pid, 't'), workerSocketPath(o.dir, o.program, process.pid, 'w'));
  // Started at the lowest priority so as not to slow the commands running meanwhile; waiting
  // at the normal one, so that a caller wakes this worker at once on a busy machine.
  readyPriority();
  fs.writeSync(o.poolFd, 'R');
  // One caller only: it renamed the socket away before connecting.
  const [conn, pid, uid, gid] = a.acceptCaller(listenFd);
  setTraceOrigin(performance.now());
  a.setParentDeathSignal(0);
  fs.closeSync(listenFd);
  adoptPriority(pid);
  fs.writeSync(o.poolFd, 'T');
  const frame = a.frameRecv(conn, false);
  if (!frame || frame.type !== 'Q') process.exit(0);
  const { request, why, callerStatus } = checkRequest(frame, identity, self, startupEnv, pid, uid, gid);
  if (why !== undefined || !request) {
    a.frameSend(conn, 'N', Buffer.from(why ?? 'refused'), []);
    process.exit(0);
  }
  // From here on, a caller that dies (even by SIGKILL) takes this worker with it.
  if (!a.watchCaller(conn)) process.exit(0);
  a.frameSend(conn, 'Y', Buffer.alloc(0), []);
  fs.writeSync(o.poolFd, 'S');
  fs.closeSync(o.poolFd);
  adoptCaller(pid, request, frame.fds, callerStatus, o.script);
  setCaller(pid, callerLink(conn));
  trace('prestart: caller adopted');
  const args = request.args;
  process.on('exit', (code) => {
    trace('prestart: exit');
    a.watchCaller(-1);
    try {
      a.frameSend(conn, 'X', int32s(code), []);
    } catch {
      /* the client is gone */
    }
    // Let go of the caller's stdio now: a shell reading our stdout waits for every copy.
    const devNull = fs.openSync('/dev/null', 'r+');
    for (let fd = 0; fd <= 2; fd++) a.dup2(devNull, fd);
    o.afterCaller?.(code, args);
  });
  o.runMain();
}

/** The request, or why this worker must not run it. */
function checkRequest(
  frame: { payload: Buffer; fds: number[] },
  identity: string,
  self: SelfPortrait,
  startupEnv: NodeJS.ProcessEnv,
  pid: number,
  uid: number,
  gid: number,
): { request?: CallerRequest; why?: string; callerStatus: string } {
  let request: CallerRequest;
  try {
    request = decodeRequest(frame.payload);
  } catch (err) {
    return { why: (err as Error).message, callerStatus: '' };
  }
  if (request.identity !== identity) return { why: 'the client belongs to another build of Carton', callerStatus: '' };
  if (frame.fds.length !== 3) return { why: 'the request carries no stdio', callerStatus: '' };
  // A measurement switch that starts the init with child_process, as this worker's own child.
  if (request.env.CARTON_INIT_SPAWN === 'node') return { why: 'CARTON_INIT_SPAWN=node', callerStatus: '' };
  const envDiff = startupEnvDifferences(startupEnv, request.env);
  if (envDiff.length > 0) return { why: `the caller's ${envDiff.join(', ')} differs from this worker's start`, callerStatus: '' };
  const { why, status } = refusalReason(self, pid, uid, gid);
  if (why !== undefined) return { why, callerStatus: status };
  // The caller's limits (Podman lowers nproc, say): lowering is always possible.
  const limit = addon().adoptRlimits(pid);
  if (limit !== null) return { why: `caller has a higher hard limit for resource ${limit} than this worker may set`, callerStatus: status };
  return { request, callerStatus: status };
}

/**
 * Run the request path once on this worker's own description before any caller waits: V8
 * compiles those functions now, not while a command is waiting (~1 ms).
 */
function rehearse(self: SelfPortrait, identity: string): void {
  decodeRequest(encodeRequest({ identity, args: ['state', 'x'], env: ['A=1'] }));
  refusalReason(self, process.pid, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
  umaskOf('Umask:\t0022\n');
}

function readyPriority(): void {
  setPriorityAllThreads(0);
}

/**
 * Linux keeps a nice value per thread, and Node's threads (V8's GC and compiler helpers, which
 * the main thread waits for) inherited the pool's 19: set every one of them.
 */
function setPriorityAllThreads(nice: number): void {
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      os.setPriority(Number(tid), nice);
    } catch {
      /* without CAP_SYS_NICE a thread stays where it is; a thread that ended is gone */
    }
  }
}

/** The caller's nice value, on every thread (a ready worker runs at 0). */
function adoptPriority(pid: number): void {
  const nice = readProcStat(pid)?.nice;
  if (nice !== undefined && Number.isInteger(nice) && nice !== 0) setPriorityAllThreads(nice);
}

/** Become the caller's command: its stdio, cwd, umask, environment and arguments. */
function adoptCaller(pid: number, request: CallerRequest, stdio: number[], status: string, script: string): void {
  const a = addon();
  stdio.forEach((fd, i) => {
    a.dup2(fd, i);
    fs.closeSync(fd);
  });
  // The magic link reaches the caller's directory even where its path does not resolve here.
  process.chdir(`/proc/${pid}/cwd`);
  const umask = umaskOf(status);
  if (umask !== undefined) process.umask(umask);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  process.argv = [process.argv[0], script, ...request.args];
}
