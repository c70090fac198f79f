/**
 * The hostile suite's laboratory: bundles built from the config.json Docker and
 * Podman really send (captured in fixtures/, adapted to a busybox rootfs, temp
 * bind sources, no hooks, a unique "carton-test" cgroupsPath), the carton-probe
 * binary compiled at test time into every rootfs, and carton-runtime driven with
 * a private --root. Everything a Lab makes is removed by cleanup(), even after
 * a failed assertion.
 */
import { spawnSync, SpawnSyncOptions } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { makeBusyboxRootfs } from '../helpers/busybox';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const BIN = path.join(REPO, 'bin', 'carton-runtime.js');
const PROBE_SRC = path.join(REPO, 'test', 'hostile', 'probes', 'probe.c');
const FIXTURES = path.join(REPO, 'test', 'hostile', 'fixtures');

export type Engine = 'docker' | 'podman';

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Bundle {
  id: string;
  dir: string;
  rootfs: string;
  spec: Spec;
  /** Where the container's own stdout/stderr go (create/start detach from us). */
  outFile: string;
}

let counter = 0;

export class Lab {
  readonly dir: string;
  readonly root: string;
  readonly probe: string;
  private readonly ids: string[] = [];
  private readonly cleanups: (() => void)[] = [];

  constructor(label: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `carton-test-hostile-${label}-`));
    this.root = path.join(this.dir, 'state');
    fs.mkdirSync(this.root);
    this.probe = path.join(this.dir, 'carton-probe');
    const cc = spawnSync('gcc', ['-static', '-O1', '-o', this.probe, PROBE_SRC], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc carton-probe: ${cc.stderr}`);
  }

  /** A bundle from the engine's captured config.json running `args`; mutate adjusts the spec. */
  bundle(engine: Engine, label: string, args: string[], mutate?: (spec: Spec, b: Bundle) => void): Bundle {
    const id = `carton-test-${process.pid}-${++counter}-${label}`;
    const dir = path.join(this.dir, id);
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(dir);
    makeBusyboxRootfs(rootfs);
    fs.copyFileSync(this.probe, path.join(rootfs, 'bin', 'carton-probe'));
    fs.chmodSync(path.join(rootfs, 'bin', 'carton-probe'), 0o755);
    const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${engine}-config-run-d.json`), 'utf8')) as Spec;
    spec.root = { path: rootfs };
    delete spec.hooks;
    for (const m of spec.mounts ?? []) {
      if (m.type !== 'bind') continue;
      const src = path.join(dir, `bind${m.destination.replace(/\//g, '-')}`);
      if (m.destination === '/dev/shm') fs.mkdirSync(src);
      else fs.writeFileSync(src, `${id} ${m.destination}\n`);
      m.source = src;
    }
    spec.process!.args = args;
    spec.linux!.cgroupsPath = `/${id}`;
    const b: Bundle = { id, dir, rootfs, spec, outFile: path.join(dir, 'out.log') };
    mutate?.(spec, b);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 1));
    this.ids.push(id);
    return b;
  }

  /** carton-runtime with our --root; foreground commands (run, exec, state, delete). */
  runtime(args: string[], opts: SpawnSyncOptions = {}): Result {
    const r = spawnSync(process.execPath, [BIN, '--root', this.root, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      ...opts,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', ...(opts.env ?? {}) },
    });
    return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** create: the container keeps the stdio it is given, so it gets a file, never our pipes. */
  create(b: Bundle, extra: string[] = []): Result {
    const fd = fs.openSync(b.outFile, 'a');
    try {
      const r = this.runtime(['create', '--bundle', b.dir, ...extra, b.id], { stdio: ['ignore', fd, fd] });
      return { ...r, stderr: fs.readFileSync(b.outFile, 'utf8') };
    } finally {
      fs.closeSync(fd);
    }
  }

  start(b: Bundle): Result {
    return this.runtime(['start', b.id]);
  }

  /** create + start, failing loudly: the caller's assertions are about the container, not set-up. */
  up(b: Bundle): number {
    const c = this.create(b);
    if (c.status !== 0) throw new Error(`create ${b.id} failed: ${c.stderr}`);
    const s = this.start(b);
    if (s.status !== 0) throw new Error(`start ${b.id} failed: ${s.stderr}`);
    return this.pid(b);
  }

  exec(b: Bundle, args: string[], flags: string[] = []): Result {
    return this.runtime(['exec', ...flags, b.id, ...args]);
  }

  state(b: Bundle): { status: string; pid: number } {
    const r = this.runtime(['state', b.id]);
    if (r.status !== 0) throw new Error(`state ${b.id}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { status: string; pid: number };
  }

  pid(b: Bundle): number {
    return this.state(b).pid;
  }

  output(b: Bundle): string {
    return fs.existsSync(b.outFile) ? fs.readFileSync(b.outFile, 'utf8') : '';
  }

  /** Wait until the container's output matches, or give up after timeoutMs. */
  async waitOutput(b: Bundle, re: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const out = this.output(b);
      if (re.test(out)) return out;
      await sleep(50);
    }
    return this.output(b);
  }

  destroy(b: Bundle): void {
    this.runtime(['kill', b.id, 'KILL']);
    this.runtime(['delete', '--force', b.id]);
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  cleanup(): void {
    for (const fn of this.cleanups.reverse()) {
      try {
        fn();
      } catch {
        /* keep cleaning */
      }
    }
    for (const id of this.ids) {
      this.runtime(['delete', '--force', id]);
      removeCgroupDirs(id);
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp && mp.startsWith(this.dir)) spawnSync('umount', ['-l', mp]);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The cgroup directories of a container in every v1 hierarchy and in cgroup2. */
export function cgroupDirs(id: string): string[] {
  const out: string[] = [];
  for (const ctl of fs.readdirSync('/sys/fs/cgroup')) {
    const p = path.join('/sys/fs/cgroup', ctl, id);
    if (fs.existsSync(p)) out.push(p);
  }
  return out;
}

function removeCgroupDirs(id: string): void {
  for (const dir of cgroupDirs(id)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still populated or already gone */
    }
  }
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Probe output as a map "what" → "ok" | "errno=NAME" | other tail. */
export function parseProbe(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.lastIndexOf(' ');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/**
 * A host-side liveness probe: runs /bin/true back to back until stopped and
 * records the slowest round trip, to show the host keeps answering while a
 * container misbehaves.
 */
export function hostProbe(): { stop: () => Promise<{ runs: number; worstMs: number }> } {
  const { execFile } = require('child_process') as typeof import('child_process');
  let running = true;
  let runs = 0;
  let worstMs = 0;
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      await new Promise<void>((res) => execFile('/bin/true', () => res()));
      worstMs = Math.max(worstMs, Date.now() - t0);
      runs++;
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { runs, worstMs };
    },
  };
}
