/**
 * The prestart pool (`carton-runtime prestart`, docs/prestart.md): keeps N workers per
 * program waiting, each on a socket of its own in a root-only directory, Node already
 * started and Carton's bundle loaded, and starts a new one whenever one is taken. The
 * pool itself never runs a command; workers that took a caller live on their own.
 */
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CartonError } from '../common/errors';
import { addon } from '../native/addon';
import { workerSocketPath } from './protocol';

export const PROGRAMS = ['carton-runtime', 'carton'] as const;
export type Program = (typeof PROGRAMS)[number];
/** Root's pool (engines find it without any environment). */
export const DEFAULT_DIR = '/run/carton-prestart';

/** Where a pool goes and its callers look by default: root's, or a user's own under $XDG_RUNTIME_DIR. */
export function defaultPoolDir(env: NodeJS.ProcessEnv = process.env, euid: number = process.geteuid?.() ?? 0): string | undefined {
  if (euid === 0) return DEFAULT_DIR;
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'carton-prestart') : undefined;
}

export interface PoolOptions {
  dir: string;
  workers: number;
  programs: readonly Program[];
  /** bin/ of this checkout: prestart-worker.js lives there. */
  binDir: string;
  log(line: string): void;
}

interface Slot {
  program: Program;
  idle: number;
  /** Commands workers ran (callers refused or gone before committing are not counted). */
  served: number;
  /** Starts within the last second that ended before taking a caller: a crash loop waits. */
  quickFailures: number;
  /** Workers taken and not replaced yet, and the timer that will (see refill). */
  owed: number;
  timer?: NodeJS.Timeout;
}

const REFILL_QUIET_MS = 50;

/** Runs until SIGTERM or SIGINT; resolves once the sockets are gone and idle workers stopped. */
export async function runPool(o: PoolOptions): Promise<void> {
  ensurePrivateDir(o.dir);
  const lockFd = fs.openSync(path.join(o.dir, 'pool.lock'), 'w', 0o600);
  if (!addon().flock(lockFd, 'ex', true)) {
    fs.closeSync(lockFd);
    throw new CartonError('EEXIST', `a prestart pool already serves ${o.dir}`, { hint: 'stop it first (SIGTERM), or pass another --dir' });
  }
  const { spawn } = require('child_process') as typeof import('child_process');
  // What an earlier pool that was killed left: sockets of workers long gone, claims, counts.
  for (const name of fs.readdirSync(o.dir)) if (name !== 'pool.lock') fs.rmSync(path.join(o.dir, name), { force: true });
  const slots: Slot[] = o.programs.map((program) => ({ program, idle: 0, served: 0, quickFailures: 0, owed: 0 }));
  const waiting = new Set<ChildProcess>();
  let stopping = false;

  const publish = (slot: Slot): void => {
    const file = path.join(o.dir, `${slot.program}.idle`);
    // "<idle> <served> <pool pid>", for tests and the benchmark (clients look for the sockets
    // themselves); the pid tells this pool's counts from those a killed one left.
    fs.writeFileSync(`${file}.tmp`, `${slot.idle} ${slot.served} ${process.pid}\n`);
    fs.renameSync(`${file}.tmp`, file);
  };

  // Commands come in bursts (create, start, delete): a replacement starts once the burst is
  // over (no worker taken for REFILL_QUIET_MS), unless none is left waiting. Starting Node
  // meanwhile, even at nice 19, takes a CPU the burst's own processes would use.
  const refill = (slot: Slot): void => {
    slot.owed++;
    if (slot.timer) clearTimeout(slot.timer);
    const now = (): void => {
      slot.timer = undefined;
      for (; slot.owed > 0; slot.owed--) start(slot);
    };
    if (slot.idle <= 0) now();
    else slot.timer = setTimeout(now, REFILL_QUIET_MS);
  };

  const start = (slot: Slot): void => {
    const began = Date.now();
    const child = spawn(process.execPath, [path.join(o.binDir, 'prestart-worker.js'), slot.program, o.dir], {
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    });
    const forget = (): void => {
      // An idle worker's socket (a claimed one was renamed away by its client).
      if (!child.pid) return;
      for (const state of ['t', 'w'] as const) fs.rmSync(workerSocketPath(o.dir, slot.program, child.pid, state), { force: true });
    };
    // Starting Node is the expensive part (~40 ms of CPU): at the lowest priority it does not
    // compete with the commands running now. Once ready, the worker waits at the normal
    // priority, and takes on its caller's when it takes the caller (worker.ts).
    try {
      if (child.pid) os.setPriority(child.pid, 19);
    } catch {
      /* already gone: the exit handler below starts another */
    }
    waiting.add(child);
    let ready = false;
    let taken = false;
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      for (const c of chunk.toString('latin1')) {
        if (c === 'R' && !ready) {
          ready = true;
          slot.idle++;
          slot.quickFailures = 0;
        } else if (c === 'T' && !taken) {
          taken = true;
          waiting.delete(child);
          if (ready) slot.idle--;
          if (!stopping) refill(slot);
        } else if (c === 'S') {
          slot.served++;
        }
      }
      // A stopping pool has removed its counts; a worker still reporting must not bring them back.
      if (!stopping) publish(slot);
    });
    child.on('exit', (code, signal) => {
      waiting.delete(child);
      if (!taken) forget();
      if (taken || stopping) return;
      if (ready) slot.idle--;
      publish(slot);
      o.log(`prestart: a ${slot.program} worker ended before taking a caller (${signal ?? `exit ${code}`})`);
      if (Date.now() - began < 1000) slot.quickFailures++;
      setTimeout(() => !stopping && start(slot), slot.quickFailures > 1 ? 1000 : 0);
    });
  };

  for (const slot of slots) {
    publish(slot);
    for (let i = 0; i < o.workers; i++) start(slot);
  }
  o.log(`prestart: ${o.workers} worker(s) each for ${o.programs.join(', ')} in ${o.dir}`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      for (const slot of slots) {
        if (slot.timer) clearTimeout(slot.timer);
        fs.rmSync(path.join(o.dir, `${slot.program}.idle`), { force: true });
      }
      for (const child of waiting) child.kill('SIGTERM');
      const done = (): void => {
        if (waiting.size > 0) return void setTimeout(done, 10);
        fs.rmSync(path.join(o.dir, 'pool.lock'), { force: true });
        fs.closeSync(lockFd);
        resolve();
      };
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** The pool's directory: created 0700, and refused when someone else could plant a socket in it. */
function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) {
    throw new CartonError('EINVAL_CONFIG', `--dir ${dir}: must be a directory of this user that nobody else can write`);
  }
}
