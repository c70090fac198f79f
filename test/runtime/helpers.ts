/**
 * Helpers for the runtime's integration tests: run bin/carton-runtime with a
 * private --root, and check that a container left nothing behind (mounts,
 * cgroup directories, state dir, processes).
 */
import { spawn, spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import type { Spec } from '../../src/oci/spec';
import { cgroupLeaks, mountLeaks } from '../badinput/leaks';

export const REPO = path.resolve(__dirname, '..', '..', '..');
/** The Node entry: tests run it with process.execPath, always without a prestart pool. */
export const BIN = path.join(REPO, 'bin', 'carton-runtime.js');
/** The command engines run (native/client): prestarted workers when a pool serves it, else BIN. */
export const RUNTIME_CMD = path.join(REPO, 'bin', 'carton-runtime');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A private state root for one test file, removed by cleanupRoot. */
export function makeRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-root-'));
}

export function runtimeSync(root: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const res = spawnSync(process.execPath, [BIN, '--root', root, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    ...opts,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '', ...(opts.env ?? {}) },
  });
  return {
    status: res.status,
    signal: res.signal,
    stdout: String(res.stdout ?? ''),
    stderr: String(res.stderr ?? ''),
  };
}

/**
 * For commands that leave a container behind (create, run -d, exec -d): the container
 * inherits the runtime's stdio, so pipes would stay open as long as it lives. Its
 * stderr goes to a file read back afterwards.
 */
export function runtimeDetached(root: string, args: string[]): Result {
  const errFile = path.join(os.tmpdir(), `carton-test-stderr-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(errFile, 'w+');
  try {
    const r = runtimeSync(root, args, { stdio: ['ignore', 'ignore', fd] });
    return { ...r, stderr: fs.readFileSync(errFile, 'utf8') };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(errFile, { force: true });
  }
}

/** Start carton-runtime in the background (foreground `run` tests that signal it). */
export function runtimeSpawn(root: string, args: string[], stdio: ('pipe' | 'ignore' | 'inherit' | number)[] = ['pipe', 'pipe', 'pipe']) {
  return spawn(process.execPath, [BIN, '--root', root, ...args], {
    stdio,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
}

export function stateOf(root: string, id: string): Record<string, unknown> {
  const r = runtimeSync(root, ['state', id]);
  if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Everything a container could leave behind, found by its id and its bundle path. */
export function leftovers(root: string, id: string, bundle: string): string[] {
  const out: string[] = [...mountLeaks(bundle, id), ...cgroupLeaks(id)];
  if (fs.existsSync(path.join(root, id))) out.push(`state dir ${path.join(root, id)}`);
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const r = fs.readlinkSync(`/proc/${pid}/root`);
      if (r.startsWith(bundle)) out.push(`process ${pid} rooted in ${r}`);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/** Remove whatever a failed test left, so the next test starts clean. */
export function forceCleanup(root: string, id: string): void {
  runtimeSync(root, ['delete', '--force', id]);
}

export function waitFor(cond: () => boolean, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return cond();
}

let counter = 0;
/** A container id unique to this process and test: carton-test-<pid>-<n>-<label>. */
export function newId(label: string): string {
  return `carton-test-${process.pid}-${++counter}-${label}`;
}

/**
 * The state root of one test file plus every bundle and container id it makes;
 * `after(() => fx.cleanup())` force-deletes the containers and removes it all.
 */
export function runtimeFixture() {
  const root = makeRoot();
  const bundles: string[] = [];
  const ids: string[] = [];
  const keep = (bundle: string): string => {
    bundles.push(bundle);
    return bundle;
  };
  return {
    root,
    keep,
    /** A busybox bundle running `args`, with `mutate` applied to the minimal spec. */
    bundleFor(args: string[], mutate: (s: Spec) => void = () => {}): string {
      const spec = minimalSpec(args);
      mutate(spec);
      return keep(makeBundle(spec));
    },
    id(label: string): string {
      const i = newId(label);
      ids.push(i);
      return i;
    },
    cleanup(): void {
      for (const id of ids) forceCleanup(root, id);
      for (const b of bundles) removeBundle(b);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
