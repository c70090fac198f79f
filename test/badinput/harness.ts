/**
 * Running carton-runtime (and runc, for comparison) on busybox bundles whose cgroupsPath
 * is named after the container id, so the leak checker can find every trace.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { BIN } from '../runtime/helpers';
import { leaksAfterSettling } from './leaks';

export type RuntimeName = 'carton' | 'runc';

export interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

export const RUNC_AVAILABLE = spawnSync('runc', ['--version']).status === 0;

function command(rt: RuntimeName): [string, string[]] {
  return rt === 'carton' ? [process.execPath, [BIN]] : ['runc', []];
}

/** A runtime command whose stdio are pipes (it must not leave a container holding them). */
export function rt(name: RuntimeName, root: string, args: string[], input?: string): Outcome {
  const [cmd, pre] = command(name);
  const r = spawnSync(cmd, [...pre, '--root', root, ...args], {
    encoding: 'utf8',
    input,
    timeout: 30_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * create / run -d / exec -d: the container inherits the runtime's stdio, so they go to
 * files (a pipe would stay open as long as the container lives).
 */
export function rtDetached(name: RuntimeName, root: string, args: string[]): Outcome {
  const [cmd, pre] = command(name);
  const base = path.join(os.tmpdir(), `carton-test-io-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const out = fs.openSync(`${base}.out`, 'w+');
  const err = fs.openSync(`${base}.err`, 'w+');
  try {
    const r = spawnSync(cmd, [...pre, '--root', root, ...args], {
      stdio: ['ignore', out, err],
      timeout: 30_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
    });
    return { status: r.status, stdout: fs.readFileSync(`${base}.out`, 'utf8'), stderr: fs.readFileSync(`${base}.err`, 'utf8') };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(`${base}.out`, { force: true });
    fs.rmSync(`${base}.err`, { force: true });
  }
}

let counter = 0;

/** Per test file: a state root per runtime, bundles and ids, all removed by cleanup(). */
export class Lab {
  readonly roots: Record<RuntimeName, string>;
  private readonly made: { rt: RuntimeName; id: string }[] = [];
  private readonly bundles: string[] = [];

  constructor() {
    this.roots = {
      carton: fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-root-')),
      runc: fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-runc-root-')),
    };
  }

  /** A unique id, also used as the cgroupsPath so the leak checker can find its cgroups. */
  id(label: string, runtime: RuntimeName = 'carton'): string {
    const id = `carton-test-${process.pid}-${++counter}-${label}`;
    this.made.push({ rt: runtime, id });
    return id;
  }

  /** A busybox bundle running `args` in cgroup /<id>, with `mutate` applied to the spec. */
  bundle(id: string, args: string[], mutate: (s: Spec) => void = () => {}): string {
    const spec = minimalSpec(args);
    spec.linux!.cgroupsPath = `/${id}`;
    mutate(spec);
    const b = makeBundle(spec, 'carton-test-bundle-');
    this.bundles.push(b);
    return b;
  }

  run(name: RuntimeName, args: string[], input?: string): Outcome {
    return rt(name, this.roots[name], args, input);
  }

  detached(name: RuntimeName, args: string[]): Outcome {
    return rtDetached(name, this.roots[name], args);
  }

  state(name: RuntimeName, id: string): { status: string; pid: number } {
    const r = this.run(name, ['state', id]);
    if (r.status !== 0) throw new Error(`${name} state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { status: string; pid: number };
  }

  leaks(name: RuntimeName, id: string, bundle: string): string[] {
    return leaksAfterSettling({ root: this.roots[name], id, bundle });
  }

  cleanup(): void {
    for (const m of this.made) {
      if (m.rt === 'runc' && !RUNC_AVAILABLE) continue;
      this.run(m.rt, ['delete', '--force', m.id]);
    }
    for (const b of this.bundles) removeBundle(b);
    fs.rmSync(this.roots.carton, { recursive: true, force: true });
    fs.rmSync(this.roots.runc, { recursive: true, force: true });
  }
}

export function waitUntil(cond: () => boolean, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return cond();
}
