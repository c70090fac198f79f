/**
 * Rootless mode, for real: a test user (carton-test-user, with /etc/subuid and
 * /etc/subgid ranges) runs carton-runtime on a busybox bundle in its home, with
 * the config `spec --rootless` writes. Checks what the container sees, who owns
 * what it makes, the state root under $XDG_RUNTIME_DIR, newuidmap/newgidmap for
 * wider maps, and cgroups: none delegated (a warning, or runc's error when the
 * config asks for limits) and a delegated one (limits applied).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { BIN, REPO, RUNTIME_CMD } from '../runtime/helpers';
import type { Spec } from '../../src/oci/spec';
import { TestUser, createTestUser, removeTestUser, asUser, asUserOnTerminal, leftoversOf, makeDelegatedCgroup, removeDelegatedCgroup } from './user';

let u: TestUser;
let xdgRoot: string;
let counter = 0;
const delegated: string[] = [];

before(() => {
  u = createTestUser();
  xdgRoot = path.join(u.xdg, 'carton-runtime');
});

after(() => {
  if (u) {
    for (const id of fs.existsSync(xdgRoot) ? fs.readdirSync(xdgRoot) : []) asUser(u, ['delete', '--force', id]);
  }
  for (const d of delegated) removeDelegatedCgroup(d);
  if (u) removeTestUser(u);
});

/** A bundle in the user's home, its config from `carton-runtime spec --rootless` run as the user, then edited. */
function rootlessBundle(edit: (s: Spec) => void): { dir: string; id: string } {
  const dir = path.join(u.home, `carton-test-bundle-${++counter}`);
  fs.mkdirSync(dir);
  makeBusyboxRootfs(path.join(dir, 'rootfs'));
  fs.chownSync(dir, u.uid, u.gid);
  chownTree(path.join(dir, 'rootfs'), u.uid, u.gid);
  const s = asUser(u, ['spec', '--rootless'], { cwd: dir });
  assert.equal(s.status, 0, s.stderr);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
  spec.process!.terminal = false;
  edit(spec);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return { dir, id: `carton-test-rootless-${process.pid}-${counter}` };
}

function chownTree(p: string, uid: number, gid: number): void {
  fs.lchownSync(p, uid, gid);
  if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid, gid);
}

const lines = (s: string): string[] => s.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));

test('spec --rootless + run as a user: root inside, hostname, exit code, files owned by the user', () => {
  const b = rootlessBundle((s) => {
    s.root!.readonly = false;
    s.process!.args = ['sh', '-c', 'id; hostname; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /root/made; exit 5'];
  });
  const spec = JSON.parse(fs.readFileSync(path.join(b.dir, 'config.json'), 'utf8')) as Spec;
  assert.deepEqual(spec.linux!.uidMappings, [{ containerID: 0, hostID: u.uid, size: 1 }]);
  assert.ok(!spec.linux!.namespaces!.some((n) => n.type === 'network'), 'no network namespace rootless');
  const r = asUser(u, ['run', b.id], { cwd: b.dir });
  assert.equal(r.status, 5, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    'uid=0(root) gid=0(root) groups=0(root)', 'carton', `0 ${u.uid} 1`, `0 ${u.gid} 1`, 'deny',
  ]);
  assert.match(r.stderr, /warning: rootless: no cgroup is delegated to uid \d+: the container runs without cgroup limits/);
  const st = fs.statSync(path.join(b.dir, 'rootfs', 'root', 'made'));
  assert.deepEqual([st.uid, st.gid], [u.uid, u.gid]);
  assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), []);
});

test('rootless hooks in the container: a startContainer hook enters its user namespace too', () => {
  const b = rootlessBundle((s) => {
    s.root!.readonly = false;
    s.process!.args = ['sh', '-c', 'cat /hook-out'];
    s.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat /proc/self/uid_map > /hook-out; id -u >> /hook-out; hostname >> /hook-out'] }] };
  });
  const r = asUser(u, ['run', b.id], { cwd: b.dir });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [`0 ${u.uid} 1`, '0', 'carton']);
  assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), []);

  // create + start: `start` runs the hook while the init waits at exec.fifo.
  fs.rmSync(path.join(b.dir, 'rootfs', 'hook-out'), { force: true });
  const id2 = `${b.id}-cs`;
  assert.equal(asUser(u, ['create', id2], { cwd: b.dir, detached: true }).status, 0);
  const st = asUser(u, ['start', id2], { cwd: b.dir });
  assert.equal(st.status, 0, st.stderr);
  assert.ok(waitForFile(path.join(b.dir, 'rootfs', 'hook-out')), 'the hook wrote its output');
  assert.deepEqual(lines(fs.readFileSync(path.join(b.dir, 'rootfs', 'hook-out'), 'utf8')), [`0 ${u.uid} 1`, '0', 'carton']);
  asUser(u, ['delete', '--force', id2]);
  assert.deepEqual(leftoversOf(xdgRoot, id2, b.dir), []);
});

function waitForFile(file: string, ms = 5000): boolean {
  const deadline = Date.now() + ms;
  while (!fs.existsSync(file) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  return fs.existsSync(file);
}

test('the spec --rootless config as written (terminal, read-only root) runs for the user', () => {
  const dir = path.join(u.home, `carton-test-bundle-${++counter}`);
  fs.mkdirSync(dir);
  makeBusyboxRootfs(path.join(dir, 'rootfs'));
  chownTree(dir, u.uid, u.gid);
  assert.equal(asUser(u, ['spec', '--rootless'], { cwd: dir }).status, 0);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
  assert.equal(spec.process!.terminal, true);
  assert.equal(spec.root!.readonly, true);
  // Only the command changes: sh with a script instead of an interactive shell.
  spec.process!.args = ['sh', '-c', 'tty; id -u; touch /x 2>/dev/null || echo read-only; exit 4'];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  const id = `carton-test-rootless-${process.pid}-${counter}`;
  const r = asUserOnTerminal(u, ['run', id], dir);
  assert.equal(r.status, 4, r.stdout + r.stderr);
  assert.deepEqual(lines(r.stdout.replace(/\r/g, '')).filter((l) => !l.includes('warning:')), ['/dev/pts/0', '0', 'read-only']);
  assert.deepEqual(leftoversOf(xdgRoot, id, dir), []);
});

test('the state root defaults to $XDG_RUNTIME_DIR/carton-runtime; exec, state, delete work rootless', () => {
  const b = rootlessBundle((s) => {
    s.process!.args = ['sleep', '60'];
  });
  const c = asUser(u, ['run', '--detach', b.id], { cwd: b.dir, detached: true });
  assert.equal(c.status, 0, c.stderr);
  assert.ok(fs.existsSync(path.join(xdgRoot, b.id, 'state.json')), 'state under $XDG_RUNTIME_DIR');
  const st = asUser(u, ['state', b.id]);
  assert.equal(JSON.parse(st.stdout).status, 'running', st.stderr);
  const e = asUser(u, ['exec', b.id, 'sh', '-c', 'id -u; cat /proc/self/setgroups']);
  assert.equal(e.status, 0, e.stderr);
  assert.deepEqual(lines(e.stdout), ['0', 'deny']);
  // No cgroup was delegated: ps finds the processes through the pid namespace, pause says why it cannot.
  const ps = asUser(u, ['ps', '--format', 'json', b.id]);
  assert.equal(ps.status, 0, ps.stderr);
  assert.deepEqual(JSON.parse(ps.stdout), [JSON.parse(st.stdout).pid]);
  const pause = asUser(u, ['pause', b.id]);
  assert.equal(pause.status, 1);
  assert.match(pause.stderr, /pause: this rootless container has no cgroup \(none was delegated to the user\)/);
  assert.equal(asUser(u, ['delete', '--force', b.id]).status, 0);
  assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), []);
});

test('maps beyond the own id go through newuidmap/newgidmap (setgroups stays allowed)', () => {
  const b = rootlessBundle((s) => {
    s.root!.readonly = false;
    s.linux!.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: u.subStart, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: u.subStart, size: 65536 }];
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [5] };
    s.process!.args = ['sh', '-c', 'id; cat /proc/self/uid_map /proc/self/setgroups; touch /tmp/by-1000'];
  });
  const r = asUser(u, ['run', b.id], { cwd: b.dir });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ['uid=1000(user) gid=1000(user) groups=5(tty)', `0 ${u.uid} 1`, `1 ${u.subStart} 65536`, 'allow']);
  const st = fs.statSync(path.join(b.dir, 'rootfs', 'tmp', 'by-1000'));
  assert.deepEqual([st.uid, st.gid], [u.subStart + 999, u.subStart + 999]);
});

test('rootless bad input: clear errors naming the field, nothing left behind', () => {
  const cases: { label: string; edit: (s: Spec) => void; want: RegExp }[] = [
    {
      label: 'not-granted',
      edit: (s) => { s.linux!.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: 5000000, size: 10 }]; },
      want: /linux\.uidMappings\[1\]: host uids 5000000-5000009 are not yours to map: user carton-test-user may map its own uid \d+ and the ranges \/etc\/subuid grants it/,
    },
    {
      label: 'limits',
      edit: (s) => { s.linux!.resources = { pids: { limit: 50 } }; },
      want: /linux\.resources\.pids: cannot set the pids limit: the container could not join or create its cgroup \(rootless/,
    },
    {
      label: 'cgroups-path',
      edit: (s) => { s.linux!.cgroupsPath = '/carton-test-not-delegated'; },
      want: /linux\.cgroupsPath \(\/carton-test-not-delegated\): uid \d+ cannot create/,
    },
    {
      label: 'groups',
      edit: (s) => { s.process!.user.additionalGids = [0]; },
      want: /process\.user\.additionalGids: cannot be set in this rootless container: setgroups is denied/,
    },
    {
      label: 'no-userns',
      edit: (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'user');
        delete s.linux!.uidMappings;
        delete s.linux!.gidMappings;
      },
      want: /linux\.namespaces: a rootless container \(carton-runtime run by uid \d+\) requires a user namespace/,
    },
  ];
  for (const c of cases) {
    const b = rootlessBundle(c.edit);
    const r = asUser(u, ['run', b.id], { cwd: b.dir });
    assert.equal(r.status, 1, `${c.label}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, c.want, c.label);
    assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), [], c.label);
  }
});

test('a delegated cgroup: the limits apply inside it, and it is removed after', () => {
  const parent = makeDelegatedCgroup(`carton-test-deleg-${process.pid}`, u);
  delegated.push(parent);
  const b = rootlessBundle((s) => {
    s.linux!.cgroupsPath = `/${parent}/ctr`;
    s.linux!.resources = { pids: { limit: 42 }, memory: { limit: 256 * 1024 * 1024 } };
    s.process!.args = ['sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes'];
  });
  const r = asUser(u, ['run', b.id], { cwd: b.dir });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ['42', String(256 * 1024 * 1024)]);
  assert.doesNotMatch(r.stderr, /no cgroup is delegated/);
  assert.ok(!fs.existsSync(`/sys/fs/cgroup/pids/${parent}/ctr`), 'the container cgroup is removed');
  assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), []);
});

void BIN;

test('a pool of the user\'s own (under $XDG_RUNTIME_DIR) serves its rootless commands, with the same results', async () => {
  const b = rootlessBundle((s) => {
    s.root!.readonly = false;
    s.process!.args = ['sh', '-c', 'id; cat /proc/self/uid_map; exit 5'];
  });
  const env = { HOME: u.home, USER: u.name, LOGNAME: u.name, XDG_RUNTIME_DIR: u.xdg, PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' };
  const asUserArgs = ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups'];
  const pool = spawn('setpriv', [...asUserArgs, process.execPath, path.join(REPO, 'bin', 'carton-runtime.js'), 'prestart', '--workers', '1'], {
    env,
    cwd: u.home,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => pool.once('exit', () => resolve()));
  const idleFile = path.join(u.xdg, 'carton-prestart', 'carton-runtime.idle');
  try {
    const ready = (): boolean => {
      try {
        const [idle, , pid] = fs.readFileSync(idleFile, 'utf8').trim().split(' ').map(Number);
        return idle >= 1 && pid === pool.pid;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 20_000;
    while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ready(), 'the user\'s pool is ready');
    assert.equal(fs.statSync(path.dirname(idleFile)).uid, u.uid);
    const r = spawnSync('setpriv', [...asUserArgs, RUNTIME_CMD, 'run', b.id], {
      env: { ...env, CARTON_PRESTART_DEBUG: '1' },
      cwd: b.dir,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.match(r.stderr, /carton-runtime: prestarted worker \d+/);
    assert.equal(r.status, 5, r.stderr);
    assert.deepEqual(lines(r.stdout), ['uid=0(root) gid=0(root) groups=0(root)', `0 ${u.uid} 1`]);
    assert.deepEqual(leftoversOf(xdgRoot, b.id, b.dir), []);
  } finally {
    pool.kill('SIGTERM');
    await exited;
  }
  assert.ok(!fs.existsSync(idleFile), 'the pool removed its files');
});

