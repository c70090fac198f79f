/**
 * The cgroup manager on the real kernel: runs on this hybrid host (v1 controllers) and
 * inside the pure cgroup2 VM (scripts/v2vm/run.sh), asserting the files of whichever
 * version it finds. Every cgroup is named carton-test-* and removed in after().
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { canLoadDevicePrograms, CgroupManager, cgroupsFromState, compileDeviceProgram, emulateRules, hostLayout, openCgroups, sharesToWeight, UNIFIED } from '../../src/cgroups';
import { addon } from '../../src/native/addon';
import { CartonError } from '../../src/common/errors';
import type { LinuxResources } from '../../src/oci/spec';

const layout = hostLayout();
const V2 = layout.kind === 'v2';
const tag = `carton-test-${process.pid}`;
const managers: CgroupManager[] = [];
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const m of managers) {
    try {
      m.destroy();
    } catch {
      // reported by the test that made it
    }
  }
});

function open(id: string, resources?: LinuxResources, cgroupsPath?: string): CgroupManager {
  const m = openCgroups({ id, cgroupsPath, resources });
  managers.push(m);
  return m;
}

function read(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

/** A busybox shell placed in the cgroup before it runs `script` (it waits for a line on stdin). */
async function runInCgroup(m: CgroupManager, script: string): Promise<{ child: ChildProcess; output: Promise<string>; text: () => string }> {
  const child = spawn('/bin/busybox', ['sh', '-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const output = new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  await new Promise<void>((resolve) => child.on('spawn', () => resolve()));
  m.addProcess(child.pid!);
  child.stdin!.write('go\n');
  return { child, output, text: () => out };
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertGone(m: CgroupManager, paths: Record<string, string>): void {
  for (const dir of new Set(Object.values(paths))) assert.equal(fs.existsSync(dir), false, `${dir} left behind`);
  void m;
}

/** A block device for throttling tests (any will do), if the machine has one. */
function someBlockDevice(): { major: number; minor: number } | undefined {
  try {
    for (const name of fs.readdirSync('/sys/block')) {
      const [major, minor] = read(`/sys/block/${name}`, 'dev').split(':').map(Number);
      if (name.startsWith('vd') || name.startsWith('sd') || name.startsWith('loop')) return { major, minor };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

test('limits are applied, read back, updated; process joins, freezes, shows in pids/stats; destroy removes all', async () => {
  const blk = someBlockDevice();
  const resources: LinuxResources = {
    memory: { limit: 64 * 1024 * 1024 },
    pids: { limit: 10 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    blockIO: blk ? { throttleReadBpsDevice: [{ ...blk, rate: 1048576 }] } : undefined,
  };
  const m = open(`${tag}-limits`, resources, `/${tag}/limits`);
  m.create();
  const mem = V2 ? m.paths[UNIFIED] : m.paths.memory;
  if (V2) {
    const d = m.paths[UNIFIED];
    assert.deepEqual(Object.keys(m.paths), [UNIFIED]);
    assert.equal(read(d, 'memory.max'), String(64 * 1024 * 1024));
    assert.equal(read(d, 'pids.max'), '10');
    assert.equal(read(d, 'cpu.weight'), String(sharesToWeight(512)));
    assert.equal(read(d, 'cpu.max'), '50000 100000');
    assert.equal(read(d, 'cpuset.cpus'), '0');
    if (blk) assert.match(read(d, 'io.max'), new RegExp(`^${blk.major}:${blk.minor} rbps=1048576`));
  } else {
    assert.equal(read(m.paths.memory, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    assert.equal(read(m.paths.pids, 'pids.max'), '10');
    assert.equal(read(m.paths.cpu, 'cpu.shares'), '512');
    assert.equal(read(m.paths.cpu, 'cpu.cfs_quota_us'), '50000');
    assert.equal(read(m.paths.cpuset, 'cpuset.cpus'), '0');
    assert.equal(read(m.paths.cpuset, 'cpuset.mems'), '0');
    if (blk) assert.equal(read(m.paths.blkio, 'blkio.throttle.read_bps_device'), `${blk.major}:${blk.minor} 1048576`);
  }

  const { child, output } = await runInCgroup(m, 'echo started; sleep 100');
  await waitFor(() => m.pids().includes(child.pid!));
  // Pages are charged once the shell runs inside (charges do not move with a process).
  await waitFor(() => (m.stats().memory.usage.usage ?? 0) > 0);
  const own = fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
  assert.ok(own.includes(`/${tag}/limits`), own);

  m.update({ pids: { limit: 20 }, memory: { limit: 128 * 1024 * 1024 } });
  assert.equal(read(V2 ? m.paths[UNIFIED] : m.paths.pids, 'pids.max'), '20');
  assert.equal(read(mem, V2 ? 'memory.max' : 'memory.limit_in_bytes'), String(128 * 1024 * 1024));

  m.freeze();
  assert.equal(m.freezerState(), 'FROZEN');
  if (V2) assert.match(read(m.paths[UNIFIED], 'cgroup.events'), /^frozen 1$/m);
  else assert.equal(read(m.paths.freezer, 'freezer.state'), 'FROZEN');
  m.thaw();
  assert.equal(m.freezerState(), 'THAWED');

  const stats = m.stats();
  assert.ok((stats.pids.current ?? 0) >= 1, JSON.stringify(stats.pids));
  assert.equal(stats.pids.limit, 20);
  assert.ok((stats.memory.usage.usage ?? 0) > 0, JSON.stringify(stats.memory.usage));
  assert.equal(stats.memory.usage.limit, 128 * 1024 * 1024);
  assert.equal(typeof stats.cpu.usage.user, 'number');
  const view = m.view();
  assert.equal(view.kind, layout.kind);
  if (V2) assert.deepEqual(view.mounts, [{ subdir: '', hostPath: m.paths[UNIFIED] }]);
  else assert.ok(view.mounts.some((v) => v.subdir === 'memory' && v.hostPath === m.paths.memory));
  assert.equal(m.oomKilled(), false);

  // A later process (delete) rebuilds the manager from the saved state.
  const later = cgroupsFromState(JSON.parse(JSON.stringify(m.paths)), m.created);
  later.destroy();
  await output;
  assert.notEqual(child.signalCode ?? child.exitCode, null);
  assertGone(m, m.paths);
  assert.equal(fs.existsSync(path.join(path.dirname(mem), '..', tag)), false);
});

test('a cpuset the kernel rejects names the field and leaves no cgroup behind', () => {
  const m = open(`${tag}-badcpu`, { pids: { limit: 5 }, cpu: { cpus: '99' } }, `/${tag}-badcpu`);
  assert.throws(() => m.create(), (e: unknown) => {
    assert.ok(e instanceof CartonError);
    // v1 says ERANGE for a CPU beyond the possible ones, v2 EINVAL.
    assert.match(e.message, /^linux\.resources\.cpu\.cpus: write cpuset\.cpus=99: (invalid argument|numerical result out of range)$/);
    assert.match(e.hint ?? '', /within the parent/);
    return true;
  });
  assertGone(m, m.paths);
  assert.deepEqual(m.created, []);
});

test('a memory limit below what the processes use: v1 refuses with EBUSY, v2 OOM-kills; oomKilled() tells', async () => {
  const m = open(`${tag}-mem`, { memory: { limit: 256 * 1024 * 1024 } }, `/${tag}-mem`);
  m.create();
  const { child, output, text } = await runInCgroup(m, 'v=$(head -c 12000000 /dev/zero | tr "\\0" a); echo filled; sleep 100; echo $v | head -c 1');
  // Slow under emulation (the v2 VM): wait for the shell to say it holds the memory.
  await waitFor(() => text().includes('filled'), 60000);
  assert.ok((m.stats().memory.usage.usage ?? 0) > 12000000, JSON.stringify(m.stats().memory.usage));
  if (V2) {
    m.update({ memory: { limit: 4 * 1024 * 1024, swap: 4 * 1024 * 1024 } });
    await output;
    assert.equal(child.signalCode, 'SIGKILL');
    assert.equal(m.oomKilled(), true);
  } else {
    assert.throws(() => m.update({ memory: { limit: 4 * 1024 * 1024 } }), (e: unknown) => {
      assert.ok(e instanceof CartonError);
      assert.equal(e.message, 'linux.resources.memory.limit: write memory.limit_in_bytes=4194304: device or resource busy');
      return true;
    });
    assert.equal(m.oomKilled(), false);
  }
  m.destroy();
  assertGone(m, m.paths);
});

test('a process that outgrows memory.limit is OOM-killed and oomKilled() reports it', async () => {
  const m = open(`${tag}-oom`, { memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } }, `/${tag}-oom`);
  m.create();
  assert.equal(m.oomKilled(), false);
  const { child, output } = await runInCgroup(m, 'v=$(head -c 24000000 /dev/zero | tr "\\0" a); echo survived');
  const out = await output;
  assert.doesNotMatch(out, /survived/);
  assert.equal(child.signalCode, 'SIGKILL');
  assert.equal(m.oomKilled(), true);
  m.destroy();
  assertGone(m, m.paths);
});

test('relative cgroupsPath lands under our own cgroup (v2: its parent); absolute under the mount', () => {
  const rel = open(`${tag}-rel`, undefined, `${tag}-rel/c`);
  const abs = open(`${tag}-abs`, undefined, `/${tag}-abs/c`);
  for (const h of layout.hierarchies) {
    const key = h.version === 2 ? UNIFIED : h.controllers[0];
    const own = h.ownPath === '/' ? '' : h.ownPath;
    const base = V2 ? path.posix.dirname(own || '/') : own || '/';
    assert.equal(rel.paths[key], path.posix.join(h.mountPoint, base, `${tag}-rel/c`));
    assert.equal(abs.paths[key], path.posix.join(h.mountPoint, `${tag}-abs/c`));
  }
  rel.create();
  abs.create();
  for (const d of Object.values(rel.paths)) assert.ok(fs.existsSync(d), d);
  rel.destroy();
  abs.destroy();
  assertGone(rel, rel.paths);
  assertGone(abs, abs.paths);
  for (const d of Object.values(abs.paths)) assert.equal(fs.existsSync(path.dirname(d)), false, 'created parent left behind');
});

test('device rules: the process may read /dev/null and use /dev/zero but not write /dev/null', async (t) => {
  if (V2 && !canLoadDevicePrograms()) {
    t.skip('native addon with bpfReplaceCgroupDevice not built');
    return;
  }
  const m = open(`${tag}-dev`, {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
    ],
  }, `/${tag}-dev`);
  m.create();
  if (!V2) assert.deepEqual(read(m.paths.devices, 'devices.list').split('\n').sort(), ['c 1:3 r', 'c 1:5 rw']);
  const { output } = await runInCgroup(m,
    'echo x > /dev/null && echo null-write-ok || echo null-write-denied; ' +
    'cat /dev/null && echo null-read-ok; head -c 3 /dev/zero > /dev/zero && echo zero-ok');
  const out = await output;
  assert.match(out, /null-write-denied/);
  assert.match(out, /null-read-ok/);
  assert.match(out, /zero-ok/);

  // An update swaps the rules on the live cgroup: now /dev/null may be written.
  m.update({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
  if (!V2) assert.deepEqual(read(m.paths.devices, 'devices.list').split('\n'), ['c 1:3 rw']);
  const again = await runInCgroup(m, 'echo x > /dev/null && echo null-write-ok; head -c 1 /dev/zero > /dev/null || echo zero-denied');
  const out2 = await again.output;
  assert.match(out2, /null-write-ok/);
  assert.match(out2, /zero-denied/);
  m.destroy();
  assertGone(m, m.paths);
});

test('destroy keeps a parent cgroup it did not create', (t) => {
  const parentPaths = openCgroups({ id: 'p', cgroupsPath: `/${tag}-parent` }).paths;
  const parents = [...new Set(Object.values(parentPaths))];
  for (const d of parents) fs.mkdirSync(d);
  t.after(() => { for (const d of parents) try { fs.rmdirSync(d); } catch { /* gone */ } });
  const m = open(`${tag}-child`, { pids: { limit: 7 } }, `/${tag}-parent/child`);
  m.create();
  assert.deepEqual(m.created.sort(), [...new Set(Object.values(m.paths))].sort());
  m.destroy();
  assertGone(m, m.paths);
  for (const d of parents) assert.ok(fs.existsSync(d), `${d} was removed`);
});

test('hugepage limits go wherever hugetlb lives (v1, or the cgroup2 mount of a hybrid host)', (t) => {
  const v2root = layout.hierarchies.find((h) => h.version === 2);
  const inV1 = layout.hierarchies.some((h) => h.version === 1 && h.controllers.includes('hugetlb'));
  const inV2 = !!v2root && read(v2root.mountPoint, 'cgroup.controllers').split(' ').includes('hugetlb');
  if (!inV1 && !inV2) {
    t.skip('no hugetlb controller on this host');
    return;
  }
  // On a hybrid host enabling hugetlb touches the shared cgroup2 root: put it back after.
  const before = v2root ? read(v2root.mountPoint, 'cgroup.subtree_control') : '';
  t.after(() => {
    if (v2root && !inV1 && !before.split(' ').includes('hugetlb')) {
      try { fs.writeFileSync(path.join(v2root.mountPoint, 'cgroup.subtree_control'), '-hugetlb'); } catch { /* busy */ }
    }
  });
  const m = open(`${tag}-huge`, { hugepageLimits: [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }] }, `/${tag}-huge`);
  m.create();
  if (inV1) assert.equal(read(m.paths.hugetlb, 'hugetlb.2MB.limit_in_bytes'), String(4 * 1024 * 1024));
  else assert.equal(read(m.paths[UNIFIED], 'hugetlb.2MB.max'), String(4 * 1024 * 1024));
  assert.ok('2MB' in m.stats().hugetlb);
  m.destroy();
  assertGone(m, m.paths);
});

test('hybrid host: the compiled device program passes the kernel verifier and filters on the cgroup2 mount', async (t) => {
  const v2root = layout.hierarchies.find((h) => h.version === 2);
  if (V2 || !v2root || !canLoadDevicePrograms()) {
    t.skip(V2 ? 'covered by the device rules test on v2' : 'no cgroup2 mount or no native addon');
    return;
  }
  const dir = path.join(v2root.mountPoint, `${tag}-bpf`);
  fs.mkdirSync(dir);
  const child = spawn('/bin/busybox', ['sh', '-c', 'read go; echo x > /dev/null && echo null-write-ok || echo null-write-denied; head -c 1 /dev/zero >/dev/zero && echo zero-ok'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (let i = 0; i < 50; i++) { try { fs.rmdirSync(dir); break; } catch { /* busy until the child is gone */ } }
  });
  const insns = compileDeviceProgram(emulateRules([
    { allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
  ]));
  addon().bpfReplaceCgroupDevice(dir, insns);
  assert.equal(addon().bpfQueryCgroupDevice(dir).length, 1);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve) => child.on('spawn', () => resolve()));
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(child.pid));
  child.stdin!.write('go\n');
  await new Promise((resolve) => child.on('exit', resolve));
  assert.match(out, /null-write-denied/);
  assert.match(out, /zero-ok/);
});
