/**
 * Starting a prestart pool in the background and waiting until its workers are ready:
 * for the benchmark and the tests, which compare commands with a full pool.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROGRAMS } from './pool';

export interface PoolHandle {
  dir: string;
  process: ChildProcess;
  /** The environment a caller needs to reach this pool. */
  env: Record<string, string>;
  /** Workers waiting for `program` now (the pool's idle file). */
  idle(program: (typeof PROGRAMS)[number]): number;
  /** Commands the workers of `program` have run so far. */
  served(program: (typeof PROGRAMS)[number]): number;
  /** Wait (polling) until every program has `workers` waiting; false on timeout. */
  waitFull(timeoutMs?: number): Promise<boolean>;
  /** SIGTERM, then wait for the pool to exit. */
  stop(): Promise<void>;
}

export function startPool(repo: string, dir: string, workers: number, env: NodeJS.ProcessEnv = process.env): PoolHandle {
  const child = spawn(process.execPath, [path.join(repo, 'bin', 'carton-runtime.js'), 'prestart', '--dir', dir, '--workers', String(workers)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const counts = (program: string): number[] => {
    try {
      const [idle, served, pool] = fs.readFileSync(path.join(dir, `${program}.idle`), 'utf8').trim().split(' ').map(Number);
      // A file a killed pool left in the directory is not this pool's.
      return pool === child.pid ? [idle, served] : [0, 0];
    } catch {
      return [0, 0];
    }
  };
  const idle = (program: string): number => counts(program)[0] ?? 0;
  return {
    dir,
    process: child,
    env: { CARTON_PRESTART_DIR: dir },
    idle,
    served: (program) => counts(program)[1] ?? 0,
    async waitFull(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (PROGRAMS.every((p) => idle(p) >= workers)) return true;
        if (child.exitCode !== null) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
      return false;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
