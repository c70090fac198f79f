/**
 * Running the real `carton` command line in integration tests, with private --root and
 * --runroot directories (named carton-test-*) that `cleanup()` removes.
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const CARTON_MAIN = path.join(__dirname, '..', '..', 'src', 'cli', 'carton', 'main.js');

export interface CartonEnv {
  root: string;
  runroot: string;
  /** The cgroup parent every `run` of this env uses (removed by cleanup). */
  cgroupParent: string;
  /** Run carton synchronously; `input` is written to its stdin. */
  run(args: string[], input?: string, timeoutMs?: number): SpawnSyncReturns<string>;
  /** Start carton in the background (for signal tests). */
  start(args: string[]): ReturnType<typeof spawn>;
  /** Kill what a failed test left running, delete its containers through the runtime, remove the dirs. */
  cleanup(): Promise<void>;
}

export function cartonEnv(): CartonEnv {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-engine-'));
  const root = path.join(base, 'root');
  const runroot = path.join(base, 'run');
  const globals = ['--root', root, '--runroot', runroot];
  // Each env's containers live under a cgroup parent of its own, so that the parent
  // (which Docker and Carton leave in place, like /docker) can be removed afterwards.
  const cgroupParent = `/${path.basename(base)}`;
  const withParent = (args: string[]): string[] =>
    args[0] === 'run' ? ['run', '--cgroup-parent', cgroupParent, ...args.slice(1)] : args;
  return {
    root,
    runroot,
    cgroupParent,
    run: (args, input, timeoutMs = 30_000) =>
      spawnSync(process.execPath, [CARTON_MAIN, ...globals, ...withParent(args)], { encoding: 'utf8', input: input ?? '', timeout: timeoutMs }),
    start: (args) => spawn(process.execPath, [CARTON_MAIN, ...globals, ...withParent(args)], { stdio: ['ignore', 'pipe', 'pipe'] }),
    cleanup: async () => {
      // A hung carton (a failed test) is still running: stop it, then let the runtime
      // remove its containers (processes, cgroups, state) as `delete --force` does.
      for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(base)) process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const rtRoot = path.join(runroot, 'runtime');
      const api = require('../../src/runtime/api') as typeof import('../../src/runtime/api');
      for (const id of fs.existsSync(rtRoot) ? fs.readdirSync(rtRoot) : []) {
        await api.deleteContainer(rtRoot, id, { force: true }).catch(() => undefined);
      }
      // Unmount anything a failed test left under the base (snapshots), then delete it.
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(base));
      for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
      fs.rmSync(base, { recursive: true, force: true });
      for (const ctrl of fs.readdirSync('/sys/fs/cgroup')) {
        try {
          fs.rmdirSync(path.join('/sys/fs/cgroup', ctrl, cgroupParent));
        } catch {
          /* absent, or not empty: leftovers() reports it */
        }
      }
    },
  };
}

/** Mount points and cgroup directories that mention `idPrefix` (should be none after a run). */
export function leftovers(idPrefix: string): string[] {
  const found: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(idPrefix)) found.push(line);
  // Container cgroups sit one level down, under /carton or a test env's own parent.
  for (const ctrl of fs.readdirSync('/sys/fs/cgroup')) {
    const top = path.join('/sys/fs/cgroup', ctrl);
    for (const parent of safeReaddir(top).filter((d) => d.startsWith('carton'))) {
      for (const d of safeReaddir(path.join(top, parent))) if (d.startsWith(idPrefix)) found.push(path.join(top, parent, d));
    }
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
