/**
 * The rootless tests' test user: carton-test-user with a home, an
 * $XDG_RUNTIME_DIR of its own and /etc/subuid + /etc/subgid ranges; commands run
 * as that user through setpriv; a cgroup root can delegate to it. Everything here
 * is undone by removeTestUser / removeDelegatedCgroup.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BIN, leftovers, Result } from '../runtime/helpers';

export const TEST_USER = 'carton-test-user';
/** Far above the ids Debian hands out, so the range cannot alias another user's. */
const SUB_START = 1_410_000_000;

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  xdg: string;
  subStart: number;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

function userExists(): boolean {
  return spawnSync('id', [TEST_USER]).status === 0;
}

/** Lines of /etc/subuid or /etc/subgid without the test user's, plus `line` when given. */
function rewriteSubIds(file: string, line?: string): void {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    text = '';
  }
  const kept = text.split('\n').filter((l) => l && !l.startsWith(`${TEST_USER}:`));
  if (line) kept.push(line);
  const tmp = `${file}.carton-test-${process.pid}`;
  fs.writeFileSync(tmp, kept.map((l) => `${l}\n`).join(''), { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function createTestUser(): TestUser {
  if (userExists()) removeUserOnly();
  sh('useradd', ['--create-home', '--shell', '/bin/sh', TEST_USER]);
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  rewriteSubIds('/etc/subuid', `${TEST_USER}:${SUB_START}:65536`);
  rewriteSubIds('/etc/subgid', `${TEST_USER}:${SUB_START}:65536`);
  const home = spawnSync('getent', ['passwd', TEST_USER], { encoding: 'utf8' }).stdout.trim().split(':')[5];
  const xdg = path.join(home, 'carton-test-xdg');
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chownSync(xdg, uid, gid);
  return { name: TEST_USER, uid, gid, home, xdg, subStart: SUB_START };
}

function removeUserOnly(): void {
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  // A failed test may leave a container of the user running: end those processes, one pid at a time.
  if (uid > 0) {
    for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const owner = Number(/^Uid:\s+(\d+)/m.exec(st)?.[1]);
        if (owner === uid || (owner >= SUB_START && owner < SUB_START + 65536)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  spawnSync('userdel', ['--remove', '--force', TEST_USER]);
}

export function removeTestUser(_u: TestUser): void {
  removeUserOnly();
  rewriteSubIds('/etc/subuid');
  rewriteSubIds('/etc/subgid');
}

/** Run carton-runtime as the test user (no --root: the default must be under $XDG_RUNTIME_DIR). */
export function asUser(u: TestUser, args: string[], opts: { cwd?: string; detached?: boolean } = {}): Result {
  const env = {
    HOME: u.home, USER: u.name, LOGNAME: u.name, XDG_RUNTIME_DIR: u.xdg,
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
  };
  const argv = ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', process.execPath, BIN, ...args];
  let errFile: string | undefined;
  let fd: number | undefined;
  if (opts.detached) {
    // A detached container keeps the runtime's stdio: give it a file, not pipes we would wait on.
    errFile = path.join(os.tmpdir(), `carton-test-stderr-${process.pid}-${Date.now()}`);
    fd = fs.openSync(errFile, 'w+');
  }
  try {
    const r = spawnSync('setpriv', argv, {
      env,
      cwd: opts.cwd ?? u.home,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: fd !== undefined ? ['ignore', 'ignore', fd] : ['ignore', 'pipe', 'pipe'],
    });
    return {
      status: r.status,
      signal: r.signal,
      stdout: String(r.stdout ?? ''),
      stderr: errFile ? fs.readFileSync(errFile, 'utf8') : String(r.stderr ?? ''),
    };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    if (errFile) fs.rmSync(errFile, { force: true });
  }
}

/** As asUser, on a pseudo-terminal of its own (script(1)): for configs with process.terminal. */
export function asUserOnTerminal(u: TestUser, args: string[], cwd: string): Result {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync(
    'setpriv',
    ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', 'script', '--quiet', '--return', '--command', quoted, '/dev/null'],
    {
      env: { HOME: u.home, USER: u.name, LOGNAME: u.name, XDG_RUNTIME_DIR: u.xdg, PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm' },
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Mounts, cgroups, state dir and processes a container left (see test/runtime/helpers). */
export function leftoversOf(root: string, id: string, bundle: string): string[] {
  return leftovers(root, id, bundle);
}

/** The cgroup hierarchies of this host (v1 controllers, name=systemd, cgroup2), as dirs under /sys/fs/cgroup. */
function hierarchies(): string[] {
  return fs
    .readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join('/sys/fs/cgroup', e.name))
    .filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
}

/** What an administrator does to delegate: a directory per hierarchy, owned by the user. */
export function makeDelegatedCgroup(name: string, u: TestUser): string {
  for (const h of hierarchies()) {
    const d = path.join(h, name);
    fs.mkdirSync(d, { recursive: true });
    if (path.basename(h) === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(d, f), fs.readFileSync(path.join(h, f), 'utf8').trim());
    }
    fs.chownSync(d, u.uid, u.gid);
    for (const f of ['cgroup.procs', 'tasks', 'cgroup.subtree_control']) {
      if (fs.existsSync(path.join(d, f))) fs.chownSync(path.join(d, f), u.uid, u.gid);
    }
  }
  return name;
}

export function removeDelegatedCgroup(name: string): void {
  for (const h of hierarchies()) {
    const d = path.join(h, name);
    if (!fs.existsSync(d)) continue;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      try {
        fs.rmdirSync(path.join(d, e.name));
      } catch {
        /* still in use */
      }
    }
    try {
      fs.rmdirSync(d);
    } catch {
      /* a process still inside: leave it for the runtime's delete */
    }
  }
}
