/**
 * A prestart pool for the benchmarks (docs/prestart.md). Every subject of a table that
 * includes a prestarted one waits for the pool to be full before it runs (`settle`): a
 * worker starting in the background must not compete with the next measurement, whoever
 * it is. What the workers cost is reported apart: their CPU (start-up included, spent
 * before a command arrives) is not in the client's wait4 figures.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startPool, PoolHandle } from '../src/prestart/pool-control';
import { PROGRAMS } from '../src/prestart/pool';

export interface BenchPool {
  /** The environment that sends a client to this pool. */
  env: NodeJS.ProcessEnv;
  /** Block until every program has all its workers waiting again. */
  settle(): void;
  /** CPU of the workers ended since the last mark, per command they ran (ms); starts a new mark. */
  workerCpuPerCommand(): { cpuMs: number; commands: number };
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_S = 100; // sysconf(_SC_CLK_TCK) on Linux

export async function startBenchPool(repo: string, workers: number, env: NodeJS.ProcessEnv): Promise<BenchPool> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-bench-prestart-'));
  const pool: PoolHandle = startPool(repo, dir, workers, env);
  if (!(await pool.waitFull(30_000))) throw new Error('the prestart pool did not fill up');
  const childCpuMs = (): number => {
    const f = fs.readFileSync(`/proc/${pool.process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS_PER_S; // cutime + cstime
  };
  const served = (): number => PROGRAMS.reduce((n, p) => n + pool.served(p), 0);
  const settle = (): void => {
    const deadline = Date.now() + 10_000;
    while (!PROGRAMS.every((p) => pool.idle(p) >= workers) && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  };
  let mark = { cpu: childCpuMs(), served: served() };
  return {
    env: { ...env, ...pool.env },
    settle,
    workerCpuPerCommand() {
      settle();
      // Workers that ran a command exit just after; give the pool a moment to reap them.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      const now = { cpu: childCpuMs(), served: served() };
      const commands = now.served - mark.served;
      const cpuMs = commands > 0 ? (now.cpu - mark.cpu) / commands : 0;
      mark = now;
      return { cpuMs, commands };
    },
    async stop() {
      await pool.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the prestarted rows leave out: the workers' own CPU, their Node start-up included. */
export function workerNote(w: { cpuMs: number; commands: number }): string {
  return `(prestarted: each worker used ${w.cpuMs.toFixed(1)} ms of CPU, its start-up included, over ${w.commands} commands; spent before the command arrived, so not in the client's CPU column)`;
}
