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
  return {
    root,
    runroot,
    run: (args, input, timeoutMs = 30_000) =>
      spawnSync(process.execPath, [CARTON_MAIN, ...globals, ...args], { encoding: 'utf8', input: input ?? '', timeout: timeoutMs }),
    start: (args) => spawn(process.execPath, [CARTON_MAIN, ...globals, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
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
    },
  };
}

/** Mount points and cgroup directories that mention `idPrefix` (should be none after a run). */
export function leftovers(idPrefix: string): string[] {
  const found: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(idPrefix)) found.push(line);
  for (const ctrl of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', ctrl, 'carton');
    try {
      for (const d of fs.readdirSync(dir)) if (d.startsWith(idPrefix)) found.push(path.join(dir, d));
    } catch {
      /* no carton cgroups in this hierarchy */
    }
  }
  return found;
}
