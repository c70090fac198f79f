import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupLayout } from './detect';
import { cleanCgroupPath, resolveCgroupPaths } from './path';
import { cgroupView } from './view';
import { CartonError } from '../common/errors';

const HYBRID_MOUNTINFO = `22 1 0:21 / /sys rw - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
99 35 0:32 / /mnt/memory\\040copy rw - cgroup cgroup rw,memory
`;
const HYBRID_SELF = `9:name=systemd:/user.slice
8:pids:/user.slice
4:memory:/process_api/abc
3:cpuset:/
2:cpu,cpuacct:/user.slice
0::/user.slice/session-1.scope
`;
const V2_MOUNTINFO = `25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n`;

test('hybrid layout: v1 hierarchies in mount order, then cgroup2; bind duplicates ignored', () => {
  const l = parseCgroupLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
  assert.equal(l.kind, 'hybrid');
  assert.deepEqual(l.hierarchies.map((h) => h.mountPoint), [
    '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuset', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids',
    '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified',
  ]);
  assert.deepEqual(l.hierarchies[0].controllers, ['cpu', 'cpuacct']);
  assert.deepEqual(l.hierarchies[4].controllers, ['name=systemd']);
  assert.equal(l.hierarchies[2].ownPath, '/process_api/abc');
  assert.equal(l.hierarchies[5].ownPath, '/user.slice/session-1.scope');
});

test('v1 without cgroup2 and pure v2 are told apart', () => {
  const v1 = HYBRID_MOUNTINFO.split('\n').filter((l) => !l.includes('cgroup2')).join('\n');
  assert.equal(parseCgroupLayout(v1, HYBRID_SELF).kind, 'v1');
  const v2 = parseCgroupLayout(V2_MOUNTINFO, '0::/init.scope\n');
  assert.equal(v2.kind, 'v2');
  assert.equal(v2.hierarchies.length, 1);
  // A named systemd v1 hierarchy beside cgroup2 is still a v2 host.
  const withNamed = parseCgroupLayout(V2_MOUNTINFO + '40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n', '1:name=systemd:/\n0::/\n');
  assert.equal(withNamed.kind, 'v2');
  assert.throws(() => parseCgroupLayout('', ''), (e: unknown) => e instanceof CartonError && e.code === 'EUNSUPPORTED');
});

test('cleanCgroupPath keeps absolute vs relative and cannot climb out', () => {
  assert.equal(cleanCgroupPath('/a/../../b//c/'), '/b/c');
  assert.equal(cleanCgroupPath('../../x'), 'x');
  assert.equal(cleanCgroupPath('a/./b'), 'a/b');
  assert.equal(cleanCgroupPath(''), '');
});

test('absolute, relative and empty cgroupsPath on a hybrid host', () => {
  const l = parseCgroupLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
  const abs = resolveCgroupPaths(l, { id: 'c1', cgroupsPath: '/carton/c1' });
  assert.equal(abs.memory, '/sys/fs/cgroup/memory/carton/c1');
  assert.equal(abs.cpu, '/sys/fs/cgroup/cpu,cpuacct/carton/c1');
  assert.equal(abs.cpuacct, abs.cpu);
  assert.equal(abs['name=systemd'], '/sys/fs/cgroup/systemd/carton/c1');
  assert.equal(abs.unified, '/sys/fs/cgroup/unified/carton/c1');
  const rel = resolveCgroupPaths(l, { id: 'c1', cgroupsPath: 'sub/c1' });
  assert.equal(rel.memory, '/sys/fs/cgroup/memory/process_api/abc/sub/c1');
  assert.equal(rel.cpuset, '/sys/fs/cgroup/cpuset/sub/c1');
  assert.equal(rel.unified, '/sys/fs/cgroup/unified/user.slice/session-1.scope/sub/c1');
  const empty = resolveCgroupPaths(l, { id: 'c1' });
  assert.equal(empty.pids, '/sys/fs/cgroup/pids/user.slice/c1');
});

test('pure v2: relative paths go under the parent of our own cgroup', () => {
  const l = parseCgroupLayout(V2_MOUNTINFO, '0::/user.slice/session-1.scope\n');
  assert.deepEqual(resolveCgroupPaths(l, { id: 'x', cgroupsPath: 'carton/x' }), { unified: '/sys/fs/cgroup/user.slice/carton/x' });
  const root = parseCgroupLayout(V2_MOUNTINFO, '0::/\n');
  assert.deepEqual(resolveCgroupPaths(root, { id: 'x' }), { unified: '/sys/fs/cgroup/x' });
});

test('inside a cgroup namespace the mount root is stripped from our own path', () => {
  const mi = `25 1 0:22 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`;
  const l = parseCgroupLayout(mi, '0::/docker/abc/sub/me\n');
  assert.deepEqual(resolveCgroupPaths(l, { id: 'x', cgroupsPath: 'y' }), { unified: '/sys/fs/cgroup/sub/y' });
});

test('systemd cgroup paths: EUNSUPPORTED without systemd, EINVAL_CONFIG when malformed', () => {
  const l = parseCgroupLayout(V2_MOUNTINFO, '0::/\n');
  assert.throws(() => resolveCgroupPaths(l, { id: 'x', cgroupsPath: 'system.slice:carton:x', systemd: true, systemdRunning: false }),
    (e: unknown) => e instanceof CartonError && e.code === 'EUNSUPPORTED' && /systemd is not running/.test(e.message));
  assert.throws(() => resolveCgroupPaths(l, { id: 'x', cgroupsPath: 'bad', systemd: true }),
    (e: unknown) => e instanceof CartonError && e.code === 'EINVAL_CONFIG' && /slice:prefix:name/.test(e.message));
  assert.throws(() => resolveCgroupPaths(l, { id: 'x', cgroupsPath: 'system.slice:carton:x' }),
    (e: unknown) => e instanceof CartonError && e.code === 'EINVAL_CONFIG');
  assert.throws(() => resolveCgroupPaths(l, { id: 'x', cgroupsPath: '/' }), /root cgroup/);
});

test('cgroup view: one bind per hierarchy plus links for co-mounted controllers; v2 is one bind', () => {
  const l = parseCgroupLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
  const v = cgroupView(l, resolveCgroupPaths(l, { id: 'c', cgroupsPath: '/c' }));
  assert.equal(v.kind, 'hybrid');
  assert.deepEqual(v.mounts.map((m) => m.subdir), ['cpu,cpuacct', 'cpuset', 'memory', 'pids', 'systemd', 'unified']);
  assert.equal(v.mounts[2].hostPath, '/sys/fs/cgroup/memory/c');
  assert.deepEqual(v.links, [{ name: 'cpu', target: 'cpu,cpuacct' }, { name: 'cpuacct', target: 'cpu,cpuacct' }]);
  const l2 = parseCgroupLayout(V2_MOUNTINFO, '0::/\n');
  assert.deepEqual(cgroupView(l2, { unified: '/sys/fs/cgroup/c' }), { kind: 'v2', mounts: [{ subdir: '', hostPath: '/sys/fs/cgroup/c' }], links: [] });
});
