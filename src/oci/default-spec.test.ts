import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSpec, toRootless } from './default-spec';
import { validateSpec } from './validate';
import { buildCreatePlan } from '../plan/index';
import { CLONE, MS, OpCode } from '../plan/ops';

const ctx = {
  mode: 'create' as const, bundle: '/b', rootfs: '/b/rootfs', noPivot: false, fifoPath: '/run/f', consoleSocket: '/tmp/s',
  preserveFds: 0, cgroupView: { kind: 'v2' as const, mounts: [{ subdir: '', hostPath: '/sys/fs/cgroup/c' }], links: [] },
};

test('the default spec is what runc spec describes, and it validates and plans', () => {
  const spec = defaultSpec();
  assert.equal(spec.process?.terminal, true);
  assert.deepEqual(spec.process?.args, ['sh']);
  assert.deepEqual(spec.process?.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  assert.deepEqual(spec.process?.capabilities?.ambient, spec.process?.capabilities?.bounding);
  assert.equal(spec.process?.noNewPrivileges, true);
  assert.deepEqual(spec.root, { path: 'rootfs', readonly: true });
  assert.deepEqual(spec.mounts?.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  assert.deepEqual(spec.linux?.namespaces?.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
  assert.ok(spec.linux?.maskedPaths?.includes('/proc/kcore'));
  assert.ok(spec.linux?.readonlyPaths?.includes('/proc/sys'));
  assert.equal(spec.linux?.uidMappings, undefined);
  const ops = buildCreatePlan(validateSpec(JSON.parse(JSON.stringify(spec))), ctx, { capLastCap: 40 });
  assert.equal(ops[ops.length - 1].op, OpCode.EXEC);
  assert.notEqual(defaultSpec().mounts, defaultSpec().mounts, 'each call returns a fresh object');
});

test('the rootless spec maps the caller to root, drops the network namespace and binds /sys', () => {
  const spec = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1001 });
  assert.deepEqual(spec.linux?.namespaces?.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
  assert.deepEqual(spec.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  assert.deepEqual(spec.linux?.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  assert.equal(spec.linux?.resources, undefined);
  const sys = spec.mounts?.find((m) => m.destination === '/sys');
  assert.deepEqual(sys, { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  const pts = spec.mounts?.find((m) => m.destination === '/dev/pts');
  assert.ok(!pts?.options?.some((o) => o.startsWith('gid=') || o.startsWith('uid=')));
  const ops = buildCreatePlan(validateSpec(JSON.parse(JSON.stringify(spec))), { ...ctx, setgroupsDenied: true }, { capLastCap: 40 });
  assert.ok(ops.some((o) => o.op === OpCode.UNSHARE && o.flags === CLONE.NEWUSER));
  assert.ok(ops.some((o) => o.op === OpCode.MOUNT && o.device === '/sys' && (o.flags & MS.BIND) !== 0));
  const devices = ops.filter((o) => o.op === OpCode.MKNOD && o.path !== '/dev/console');
  assert.equal(devices.length, 6);
  assert.ok(devices.every((o) => o.op === OpCode.MKNOD && o.bindFallback === o.path));
  assert.deepEqual(toRootless(defaultSpec(), { hostUid: 5, hostGid: 6 }).linux?.uidMappings, [{ containerID: 0, hostID: 5, size: 1 }]);
});
