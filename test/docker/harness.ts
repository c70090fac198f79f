/**
 * A private Docker daemon for tests: Debian's dockerd 20.10 with its own
 * containerd, every root (data, exec, containerd state, runtime state) under
 * one temp dir, a socket there, cgroups under /carton-test-docker-<pid>, a
 * bridge we create ("carton-br<n>", own subnet, no iptables rules at all), and
 * carton-runtime registered as runtime "carton". Nothing it uses is shared
 * with a system dockerd. stop() removes every trace even after a failure.
 */
import { spawn, spawnSync, ChildProcess, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { runInPty } from '../helpers/pty';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const CARTON_RUNTIME = path.join(REPO, 'bin', 'carton-runtime');
export const IMAGE = 'carton-test-busybox:latest';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function dockerAvailable(): string | undefined {
  for (const bin of ['/usr/sbin/dockerd', '/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/bin/script']) {
    if (!fs.existsSync(bin)) return `${bin} is not installed`;
  }
  if (spawnSync('docker', ['--version']).status !== 0) return 'no docker client on PATH';
  return undefined;
}

export class DockerHarness {
  readonly dir: string;
  readonly socket: string;
  readonly bridge: string;
  readonly gateway: string;
  readonly subnet: string;
  readonly cgroupParent: string;
  private daemon?: ChildProcess;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-docker-'));
    this.socket = path.join(this.dir, 'docker.sock');
    this.bridge = `carton-br${process.pid % 100000}`;
    const third = freeSubnetOctet();
    this.subnet = `172.29.${third}.0/24`;
    this.gateway = `172.29.${third}.1`;
    this.cgroupParent = `/carton-test-docker-${process.pid}`;
  }

  /** Create the bridge, start dockerd (which starts its containerd), wait for the API, load the image. */
  async start(): Promise<void> {
    must(spawnSync('ip', ['link', 'add', this.bridge, 'type', 'bridge']), 'ip link add');
    must(spawnSync('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]), 'ip addr add');
    must(spawnSync('ip', ['link', 'set', this.bridge, 'up']), 'ip link set up');
    // an empty config file of our own: a system /etc/docker/daemon.json must not leak in
    fs.writeFileSync(path.join(this.dir, 'daemon.json'), '{}\n');
    const log = fs.openSync(path.join(this.dir, 'dockerd.log'), 'a');
    this.daemon = spawn(
      '/usr/sbin/dockerd',
      [
        '--config-file', path.join(this.dir, 'daemon.json'),
        '--data-root', path.join(this.dir, 'data'),
        '--exec-root', path.join(this.dir, 'exec'),
        '-H', `unix://${this.socket}`,
        '--pidfile', path.join(this.dir, 'docker.pid'),
        '--bridge', this.bridge,
        '--iptables=false', '--ip-masq=false', '--ip-forward=false',
        '--cgroup-parent', this.cgroupParent,
        '--storage-driver', 'overlay2',
        '--add-runtime', `carton=${CARTON_RUNTIME}`,
        '--containerd-namespace', 'carton-test',
        '--containerd-plugins-namespace', 'carton-test-plugins',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } },
    );
    fs.closeSync(log);
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      if (this.daemon.exitCode !== null) throw new Error(`dockerd exited: ${this.log()}`);
      if (fs.existsSync(this.socket) && this.docker(['info', '--format', '{{.ServerVersion}}']).status === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const info = this.docker(['info', '--format', '{{json .Runtimes}}']);
    if (!info.stdout.includes('carton')) throw new Error(`dockerd did not come up with the carton runtime: ${info.stderr}\n${this.log()}`);
    this.loadImage();
  }

  /** A one-layer image of the busybox rootfs every Carton test uses (no registry needed). */
  private loadImage(): void {
    const rootfs = path.join(this.dir, 'image-rootfs');
    makeBusyboxRootfs(rootfs);
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    must(tar, 'tar rootfs');
    const r = spawnSync('docker', ['import', '-', IMAGE], { input: tar.stdout, env: this.env(), encoding: 'utf8' });
    must(r, 'docker import');
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: path.join(this.dir, 'client') };
  }

  docker(args: string[], opts: SpawnSyncOptions = {}): Result {
    const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000, ...opts, env: this.env() });
    return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** A docker command under a real pty, for -it: returns what the terminal showed. */
  async dockerTty(args: string[]): Promise<Result> {
    const cmd = ['docker', ...args].map(shellQuote).join(' ');
    const r = await runInPty(cmd, { env: this.env(), timeoutMs: 60_000 });
    return { status: r.status, stdout: r.output.replace(/\r/g, ''), stderr: r.timedOut ? 'timed out' : '' };
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  /** Containers, daemon, containerd and shims, mounts, cgroups, bridge, temp dir — in that order. */
  async stop(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) {
      const ids = this.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) this.docker(['rm', '-f', ...ids]);
      this.daemon.kill('SIGTERM');
      const end = Date.now() + 20_000;
      while (this.daemon.exitCode === null && this.daemon.signalCode === null && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (this.daemon.exitCode === null && this.daemon.signalCode === null) this.daemon.kill('SIGKILL');
    }
    // containerd and its shims name our directory on their command lines; end those, by pid
    for (const pid of processesMentioning(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const mp of mountsUnder(this.dir).reverse()) spawnSync('umount', ['-l', mp]);
    removeCgroupTree(this.cgroupParent);
    spawnSync('ip', ['link', 'del', this.bridge]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function must(r: { status: number | null; stderr?: unknown; error?: Error }, what: string): void {
  if (r.status !== 0) throw new Error(`${what}: ${r.error?.message ?? String(r.stderr ?? '')}`);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A 172.29.x.0/24 no interface on this host uses yet. */
function freeSubnetOctet(): number {
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout;
  for (let i = 0; i < 200; i++) {
    const third = 20 + ((process.pid + i) % 200);
    if (!used.includes(`172.29.${third}.`)) return third;
  }
  throw new Error('no free 172.29.x.0/24 subnet');
}

export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp): mp is string => !!mp && mp.startsWith(dir));
}

/** Every v1 hierarchy and cgroup2: remove the parent's subtree, deepest first. */
export function removeCgroupTree(rel: string): void {
  for (const ctl of fs.readdirSync('/sys/fs/cgroup')) {
    const top = path.join('/sys/fs/cgroup', ctl, rel);
    if (!fs.existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    walk(top);
    for (const d of dirs.reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* still populated: reported by the leak check */
      }
    }
  }
}

export function cgroupDirsOf(rel: string): string[] {
  return fs
    .readdirSync('/sys/fs/cgroup')
    .map((ctl) => path.join('/sys/fs/cgroup', ctl, rel))
    .filter((p) => fs.existsSync(p));
}
