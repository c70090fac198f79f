/**
 * How processes enter the container's cgroups (src/plan/cgroup-join.ts): the container's
 * process is in every one of its cgroups from its first instruction, the waiting init
 * (run, foreground exec) is in none of them, an exec'd process joins them all — and a new
 * network namespace has its loopback up, as runc gives it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { runtimeDetached, runtimeFixture, runtimeSpawn, runtimeSync, stateOf } from './helpers';

const fx = runtimeFixture();
after(() => fx.cleanup());

/** The container's directory in every mounted hierarchy, for cgroupsPath `/<name>`. */
function containerDirs(name: string): string[] {
  const dirs: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || !['cgroup', 'cgroup2'].includes(f[sep + 1])) continue;
    const dir = path.join(f[4], name);
    if (fs.existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

const procs = (dir: string): number[] =>
  fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);

const isInit = (pid: number): boolean => {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).includes('carton-init');
  } catch {
    return false;
  }
};

test('run: the container is in all its cgroups, the waiting init in none; lo is up', async () => {
  const id = fx.id('join');
  const cg = `carton-test-cg-${process.pid}-run`;
  const b = fx.bundleFor(['sh', '-c', 'cat /sys/class/net/lo/flags; cat /proc/self/cgroup; echo ready; exec sleep 30'], (s) => {
    s.linux!.cgroupsPath = `/${cg}`;
  });
  const child = runtimeSpawn(fx.root, ['run', '-b', b, id]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  try {
    assert.ok(await until(() => out.includes('ready')), out);
    const pid = Number(stateOf(fx.root, id).pid);
    const dirs = containerDirs(cg);
    assert.ok(dirs.length >= 1, `cgroup dirs of ${cg}: ${dirs.join(' ')}`);
    for (const dir of dirs) assert.deepEqual(procs(dir), [pid], `${dir}: only the container's process`);
    const parent = Number(/^PPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    assert.ok(isInit(parent), `the container's parent ${parent} is the waiting carton-init`);
    const parentCgroups = fs.readFileSync(`/proc/${parent}/cgroup`, 'utf8');
    assert.ok(!parentCgroups.includes(cg), `the waiting init left the container's cgroups:\n${parentCgroups}`);
    // IFF_UP is bit 0 of the flags of lo (0x8 LOOPBACK alone when down).
    assert.equal(Number(out.split('\n')[0]) & 1, 1, `lo flags: ${out.split('\n')[0]}`);
    assertRootedCgroupNs(out);
  } finally {
    // pid 1 of the container ignores SIGTERM (no handler): end it from the host.
    const pid = Number(stateOf(fx.root, id).pid);
    if (pid > 0) process.kill(pid, 'SIGKILL');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
  assert.deepEqual(containerDirs(cg), [], 'cgroups removed after run');
});

test('exec: the exec process joins every cgroup of the container; its waiting init does not', async () => {
  const id = fx.id('exec');
  const cg = `carton-test-cg-${process.pid}-exec`;
  const b = fx.bundleFor(['sleep', '30'], (s) => {
    s.linux!.cgroupsPath = `/${cg}`;
  });
  assert.equal(runtimeDetached(fx.root, ['run', '-d', '-b', b, id]).status, 0);
  const pid = Number(stateOf(fx.root, id).pid);
  const exec = runtimeSpawn(fx.root, ['exec', id, 'sh', '-c', 'cat /proc/self/cgroup; echo ready; exec sleep 30']);
  let out = '';
  exec.stdout!.on('data', (d) => (out += d));
  try {
    assert.ok(await until(() => out.includes('ready')), out);
    assertRootedCgroupNs(out);
    for (const dir of containerDirs(cg)) {
      const inside = procs(dir);
      assert.ok(inside.includes(pid), `${dir}: the container's init`);
      const show = inside.map((p) => `${p}=${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')}:${(() => { try { return fs.readlinkSync(`/proc/${p}/exe`); } catch { return '?'; } })()}`).join(' ');
      assert.equal(inside.length, 2, `${dir}: the container's init and the exec'd sh: ${show}`);
      assert.ok(!inside.some(isInit), `${dir}: no carton-init`);
    }
  } finally {
    exec.kill('SIGKILL');
    runtimeSync(fx.root, ['delete', '--force', id]);
  }
});

/** Inside its cgroup namespace a container sees itself at the root of every hierarchy. */
function assertRootedCgroupNs(out: string): void {
  const lines = out.split('\n').filter((l) => /^\d+:[^:]*:/.test(l));
  assert.ok(lines.length > 0, out);
  for (const l of lines) assert.ok(l.endsWith(':/'), `cgroup namespace not rooted at the container's cgroup: ${l}`);
}

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
