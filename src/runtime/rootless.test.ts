import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Spec } from '../oci/spec';
import { checkMountOptionIds, checkRootlessSpec, defaultStateRoot, isInitialUserNsMap, isRootless, setRootlessSetting } from './rootless';
import { firstUnreachable, hostIdOf, PathEntry } from './rootfs-access';
import { decideRootlessCgroups, neededHierarchies, withoutDevices } from './rootless-cgroups';
import { prepareUserns } from './userns';
import { CartonError } from '../common/errors';

const m = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });

function userSpec(extra: Partial<Spec['linux']> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: '/nonexistent-carton-test-rootfs' },
    mounts: [{ destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'gid=5'] }],
    linux: { namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: [m(0, 1001, 1)], gidMappings: [m(0, 1001, 1)], ...extra },
  };
}

test('defaultStateRoot: $XDG_RUNTIME_DIR for a user, /run for root', () => {
  assert.equal(defaultStateRoot({ XDG_RUNTIME_DIR: '/run/user/1001' }, 1001, () => false), '/run/user/1001/carton-runtime');
  assert.equal(defaultStateRoot({}, 1001, () => false), '/run/carton-runtime');
  assert.equal(defaultStateRoot({ XDG_RUNTIME_DIR: '/run/user/0' }, 0, () => false), '/run/carton-runtime');
  assert.equal(defaultStateRoot({ XDG_RUNTIME_DIR: '/x', USER: 'alice' }, 0, () => true), '/x/carton-runtime', 'root of a nested userns');
  assert.equal(defaultStateRoot({ XDG_RUNTIME_DIR: '/x', USER: 'root' }, 0, () => true), '/run/carton-runtime');
});

test('isRootless: --rootless true/false/auto', () => {
  assert.ok(isInitialUserNsMap('         0          0 4294967295\n'));
  assert.ok(!isInitialUserNsMap('0 1001 1\n'));
  try {
    setRootlessSetting('true');
    assert.ok(isRootless(0));
    setRootlessSetting('false');
    assert.ok(!isRootless(1001));
    setRootlessSetting('auto');
    assert.ok(isRootless(1001));
    assert.throws(() => setRootlessSetting('maybe'), /^CartonError: --rootless: must be true, false or auto/);
  } finally {
    setRootlessSetting('auto');
  }
});

test('checkRootlessSpec: a user needs a user namespace; no additionalGids when setgroups is denied', () => {
  const noUserns = userSpec({ namespaces: [{ type: 'mount' }] });
  assert.throws(() => checkRootlessSpec(noUserns, { euid: 1001, setgroupsDenied: false }), /^CartonError: linux\.namespaces: a rootless container .* requires a user namespace/);
  checkRootlessSpec(noUserns, { euid: 0, setgroupsDenied: false });
  const s = userSpec();
  s.process!.user.additionalGids = [5];
  assert.throws(() => checkRootlessSpec(s, { euid: 1001, setgroupsDenied: true }), /^CartonError: process\.user\.additionalGids: cannot be set/);
  checkRootlessSpec(s, { euid: 1001, setgroupsDenied: false });
});

test('checkMountOptionIds: gid=5 must be mapped', () => {
  assert.throws(() => checkMountOptionIds(userSpec()), /^CartonError: mounts\[0\] \(\/dev\/pts\): option gid=5: gid 5 is not mapped by linux\.gidMappings/);
  checkMountOptionIds(userSpec({ gidMappings: [m(0, 100000, 65536)] }));
});

test('rootfs reachability: first directory the mapped root cannot search', () => {
  const e = (p: string, mode: number, uid = 0, gid = 0): PathEntry => ({ path: p, mode, uid, gid });
  const who = { uid: 100000, gid: 100000, groups: [] };
  const maps = [m(0, 100000, 65536)];
  assert.equal(firstUnreachable([e('/', 0o755), e('/root', 0o700), e('/root/b', 0o755)], who, maps, maps)?.path, '/root');
  assert.equal(firstUnreachable([e('/', 0o755), e('/srv', 0o711), e('/srv/r', 0o700, 100000, 100000)], who, maps, maps), undefined, 'owned by mapped ids');
  assert.equal(firstUnreachable([e('/', 0o755), e('/g', 0o750, 0, 7)], { ...who, groups: [7] }, maps, maps), undefined, 'via a supplementary group');
  assert.equal(firstUnreachable([e('/', 0o755), e('/o', 0o700, 100005, 0)], who, maps, maps)?.path, '/o', 'owner mapped but group not: no capability');
  assert.equal(hostIdOf(maps, 0), 100000);
  assert.equal(hostIdOf([m(0, 1001, 1), m(1, 200000, 10)], 3), 200002);
  assert.equal(hostIdOf([m(1, 5, 1)], 0), undefined);
});

test('rootless cgroups: limits need their hierarchy; devices never count', () => {
  const keys = ['cpu', 'cpuset', 'memory', 'pids', 'devices', 'unified'];
  assert.deepEqual(neededHierarchies({ memory: { limit: 1 }, pids: { limit: 5 }, cpu: { cpus: '0' } }, keys).map((n) => n.key), ['memory', 'cpuset', 'pids']);
  assert.deepEqual(neededHierarchies({ memory: {} }, keys), [], 'an empty memory object sets nothing');
  assert.deepEqual(neededHierarchies({ pids: { limit: 5 } }, ['unified']).map((n) => n.key), ['unified'], 'pure v2');
  assert.deepEqual(withoutDevices({ devices: [{ allow: false }], pids: { limit: 1 } }), { pids: { limit: 1 } });
});

test('decideRootlessCgroups: none delegated → warning, or an error naming the limit', () => {
  const full = { memory: '/sys/fs/cgroup/memory/c', pids: '/sys/fs/cgroup/pids/c', unified: '/sys/fs/cgroup/unified/c' };
  const none = { usable: () => false };
  const d = decideRootlessCgroups(full, {}, none, { euid: 1001 });
  assert.deepEqual(d.paths, {});
  assert.match(d.warnings[0], /^rootless: no cgroup is delegated to uid 1001: the container runs without cgroup limits/);
  assert.throws(
    () => decideRootlessCgroups(full, { pids: { limit: 10 } }, none, { euid: 1001 }),
    (e: CartonError) => e.message.startsWith('linux.resources.pids: cannot set the pids limit: the container could not join or create its cgroup'),
  );
  assert.throws(() => decideRootlessCgroups(full, {}, none, { euid: 1001, cgroupsPath: '/x' }), /^CartonError: linux\.cgroupsPath \(\/x\): uid 1001 cannot create/);
  const some = decideRootlessCgroups(full, { pids: { limit: 10 } }, { usable: (k) => k === 'pids' }, { euid: 1001 });
  assert.deepEqual(some.paths, { pids: full.pids });
  assert.deepEqual(some.warnings, ['rootless: cgroup controllers not delegated to uid 1001, not used: memory']);
});

test('prepareUserns: a user mapping only itself gets setgroups denied; subuid ranges need coverage', () => {
  const facts = { euid: 1001, egid: 1001, userName: 'alice', subuid: 'alice:200000:65536\n', subgid: 'alice:200000:65536\n', groups: [], rootless: true };
  const self = prepareUserns(userSpec({ gidMappings: [m(0, 1001, 1), m(5, 200005, 1)] }), '/nonexistent-carton-test', facts);
  assert.deepEqual(self.writers, { uid: 'direct', gid: 'helper', denySetgroups: false });
  const own = userSpec();
  own.mounts = [];
  const ownPrep = prepareUserns(own, '/nonexistent-carton-test', facts);
  assert.deepEqual(ownPrep.writers, { uid: 'direct', gid: 'direct', denySetgroups: true });
  assert.equal(ownPrep.setgroupsDenied, true);
  const wide = userSpec({ uidMappings: [m(0, 1001, 1), m(1, 200000, 65536)], gidMappings: [m(0, 200000, 65536)] });
  wide.mounts = [];
  const p = prepareUserns(wide, '/nonexistent-carton-test', facts);
  assert.deepEqual(p.writers, { uid: 'helper', gid: 'helper', denySetgroups: false });
  assert.throws(
    () => prepareUserns(userSpec({ uidMappings: [m(0, 1001, 1), m(1, 300000, 10)] }), '/x', facts),
    /^CartonError: linux\.uidMappings\[1\]: host uids 300000-300009 are not yours to map/,
  );
});

test('prepareUserns: no new user namespace inside a runtime whose namespace denies setgroups', () => {
  const spec = userSpec({ namespaces: [{ type: 'mount' }] });
  delete spec.linux!.uidMappings;
  delete spec.linux!.gidMappings;
  const nested = prepareUserns(spec, '/x', { euid: 0, egid: 0, rootless: true, inUserNs: true, setgroups: 'deny' });
  assert.deepEqual(nested, { rootless: true, runtimeInUserNs: true, setgroupsDenied: true, warnings: [] });
  const host = prepareUserns(spec, '/x', { euid: 0, egid: 0, rootless: false, inUserNs: false, setgroups: 'allow' });
  assert.equal(host.setgroupsDenied, false);
});
