import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreatePlan, buildCreatePlanWithWarnings } from './index';
import { MountTargetKind, MOUNT_ATTR, MS, Op, OpCode } from './ops';
import { validateSpec } from '../oci/validate';
import { V2, ctx, extras, base, idx, first, all, before } from './testdata/plan-inputs';

test('a read-only bind mount carries ro for the init to remount; rro is recursive mount_setattr', () => {
  const spec = base();
  spec.mounts!.push(
    { destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/app.conf', type: 'bind', source: '/srv/app.file', options: ['bind', 'rro', 'nosuid'] },
  );
  const ops = buildCreatePlan(spec, ctx(), extras());
  const data = ops.filter((o) => o.source === 'mounts[5] (/data)');
  assert.deepEqual(data, [
    { op: OpCode.MOUNT, source: 'mounts[5] (/data)', device: '/bundle/vol', target: '/data', targetKind: MountTargetKind.IN_ROOT_CREATE_DIR,
      fstype: '', flags: MS.BIND | MS.REC | MS.RDONLY, data: '' },
    { op: OpCode.MOUNT, source: 'mounts[5] (/data)', device: '', target: '/data', targetKind: MountTargetKind.IN_ROOT,
      fstype: '', flags: MS.PRIVATE | MS.REC, data: '' },
  ]);
  const conf = ops.filter((o) => o.source === 'mounts[6] (/etc/app.conf)');
  assert.equal(conf.length, 2);
  assert.equal(conf[0].op === OpCode.MOUNT && conf[0].targetKind, MountTargetKind.IN_ROOT_CREATE_FILE);
  assert.equal(conf[0].op === OpCode.MOUNT && conf[0].flags, MS.BIND | MS.NOSUID);
  assert.deepEqual(conf[1], { op: OpCode.MOUNT_SETATTR, source: 'mounts[6] (/etc/app.conf)', target: '/etc/app.conf',
    targetKind: MountTargetKind.IN_ROOT, attrSet: MOUNT_ATTR.RDONLY, attrClear: 0, propagation: 0, recursive: true });
});

test('a read-only tmpfs is filled first and made read-only after pivot_root', () => {
  const spec = base();
  spec.mounts![1].options = ['nosuid', 'ro', 'mode=755'];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const dev = all(ops, OpCode.MOUNT).find((o) => o.source === 'mounts[1] (/dev)')!;
  assert.equal(dev.flags & MS.RDONLY, 0);
  const ro = idx(ops, (o) => o.op === OpCode.MOUNT_SETATTR && o.source === 'mounts[1] (/dev)');
  before(ops, first(ops, OpCode.PIVOT_ROOT), ro, 'ro after pivot');
  before(ops, first(ops, OpCode.CONSOLE) === -1 ? first(ops, OpCode.MKDIR) : first(ops, OpCode.CONSOLE), ro, 'console first');
  const root = idx(ops, (o) => o.op === OpCode.MOUNT_SETATTR && o.source === 'root.readonly');
  assert.ok(root > first(ops, OpCode.PIVOT_ROOT));
  assert.deepEqual(ops[root], { op: OpCode.MOUNT_SETATTR, source: 'root.readonly', target: '/', targetKind: MountTargetKind.IN_ROOT,
    attrSet: MOUNT_ATTR.RDONLY, attrClear: 0, propagation: 0, recursive: false });
});

test('cgroup mount expands from the view', () => {
  const hybrid = buildCreatePlan(base(), ctx(), extras()).filter((o) => o.source === 'mounts[4] (/sys/fs/cgroup)');
  assert.deepEqual(hybrid.map((o) => [o.op, 'target' in o ? o.target : (o as { path: string }).path]), [
    [OpCode.MOUNT, '/sys/fs/cgroup'],
    [OpCode.MOUNT, '/sys/fs/cgroup/cpu'],
    [OpCode.MOUNT, '/sys/fs/cgroup/memory'],
    [OpCode.MOUNT, '/sys/fs/cgroup/unified'],
    [OpCode.SYMLINK, 'cpu'],
    [OpCode.MOUNT_SETATTR, '/sys/fs/cgroup'],
  ]);
  const tmpfs = hybrid[0] as Extract<Op, { op: OpCode.MOUNT }>;
  assert.equal(tmpfs.fstype, 'tmpfs');
  assert.equal(tmpfs.flags & MS.RDONLY, 0);
  const bind = hybrid[1] as Extract<Op, { op: OpCode.MOUNT }>;
  assert.equal(bind.device, '/sys/fs/cgroup/cpu/c1');
  assert.equal(bind.flags, MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);

  const withNs = base();
  withNs.linux!.namespaces!.push({ type: 'cgroup' });
  const nsOps = all(buildCreatePlan(withNs, ctx(), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(nsOps.map((o) => [o.fstype, o.data]), [['tmpfs', 'mode=755'], ['cgroup', 'cpu'], ['cgroup', 'memory'], ['cgroup2', '']]);
  const named = { kind: 'v1' as const, mounts: [{ subdir: 'systemd', hostPath: '/x' }, { subdir: 'elogind', hostPath: '/y', mountData: 'name=elogind' }], links: [] };
  const namedOps = all(buildCreatePlan(withNs, ctx({ cgroupView: named }), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(namedOps.map((o) => o.data), ['mode=755', 'name=systemd', 'name=elogind']);

  const v2 = all(buildCreatePlan(base(), ctx({ cgroupView: V2 }), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(v2.map((o) => [o.device, o.fstype, o.flags & MS.BIND]), [['/sys/fs/cgroup/c1', '', MS.BIND]]);
  const v2ns = all(buildCreatePlan(withNs, ctx({ cgroupView: V2 }), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(v2ns.map((o) => [o.device, o.fstype, o.flags & MS.RDONLY]), [['cgroup2', 'cgroup2', MS.RDONLY]]);
});

test('/dev: defaults replaced by config devices, nothing when /dev is a bind, links', () => {
  const spec = base();
  spec.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const nulls = all(ops, OpCode.MKNOD).filter((n) => n.path === '/dev/null');
  assert.deepEqual(nulls.map((n) => [n.mode, n.uid, n.gid, n.source]), [[0o020600, 5, 6, 'linux.devices[0] (/dev/null)']]);
  assert.deepEqual(all(ops, OpCode.SYMLINK).filter((s) => s.path.startsWith('/dev/')).map((s) => `${s.path}->${s.target}`), [
    '/dev/ptmx->pts/ptmx', '/dev/fd->/proc/self/fd', '/dev/stdin->/proc/self/fd/0', '/dev/stdout->/proc/self/fd/1',
    '/dev/stderr->/proc/self/fd/2', '/dev/core->/proc/kcore',
  ]);
  const bound = base();
  bound.mounts![1] = { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] };
  assert.equal(first(buildCreatePlan(bound, ctx(), extras()), OpCode.MKNOD), -1);
});

test('mounts inside /proc are refused unless they are known-safe binds', () => {
  const add = (m: { destination: string; type?: string; source?: string; options?: string[] }) => {
    const s = base();
    s.mounts!.push(m);
    return () => buildCreatePlan(s, ctx(), extras({ bindSourceKinds: () => 'file' }));
  };
  assert.throws(add({ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' }), /^CartonError: mounts\[5\] \(\/proc\/sys\): cannot mount inside \/proc/);
  assert.throws(add({ destination: '/proc/self', type: 'bind', source: '/tmp/x', options: ['bind'] }), /cannot mount inside \/proc/);
  assert.throws(add({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }), /\/proc can only be a proc mount/);
  assert.doesNotThrow(add({ destination: '/proc/meminfo', type: 'bind', source: '/var/lib/lxcfs/proc/meminfo', options: ['bind'] }));
  assert.doesNotThrow(add({ destination: '/proc/sys/net', type: 'bind', source: '/proc/sys/net', options: ['rbind'] }));
});

test('bind: explicit rw/suid clear the source flags; /dev/ptmx devices are left to the link', () => {
  const spec = base();
  spec.mounts!.push({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rw', 'suid'] });
  spec.linux!.devices = [{ path: '/dev/ptmx', type: 'c', major: 5, minor: 2 }];
  const ops = buildCreatePlan(validateSpec(spec), ctx(), extras());
  const data = ops.filter((o) => o.source === 'mounts[5] (/data)');
  assert.equal(data.length, 2);
  assert.deepEqual(data[1], { op: OpCode.MOUNT_SETATTR, source: 'mounts[5] (/data)', target: '/data', targetKind: MountTargetKind.IN_ROOT,
    attrSet: 0, attrClear: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, propagation: 0, recursive: false });
  assert.equal(all(ops, OpCode.MKNOD).filter((n) => n.path === '/dev/ptmx').length, 0);
  const plain = buildCreatePlan(base(), ctx(), extras());
  assert.equal(all(plain, OpCode.MOUNT_SETATTR).filter((o) => o.attrClear !== 0).length, 0);
});

test('user namespace without its own network namespace: /sys is bound from the host', () => {
  const spec = base();
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'ipc');
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.mounts!.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  const { ops, warnings } = buildCreatePlanWithWarnings(validateSpec(spec), ctx(), extras());
  const sys = all(ops, OpCode.MOUNT).find((o) => o.source === 'mounts[3] (/sys)')!;
  assert.deepEqual([sys.device, sys.fstype, sys.flags], ['/sys', '', MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC]);
  const mq = all(ops, OpCode.MOUNT).find((o) => o.source === 'mounts[5] (/dev/mqueue)')!;
  assert.equal(mq.fstype, 'mqueue');
  assert.deepEqual(warnings, ['mounts[3] (/sys): sysfs cannot be mounted from this user namespace; /sys is bound from the host']);
  // With its own network namespace, sysfs is mounted fresh.
  spec.linux!.namespaces = spec.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network' as const } : n));
  const fresh = all(buildCreatePlan(validateSpec(spec), ctx(), extras()), OpCode.MOUNT).find((o) => o.source === 'mounts[3] (/sys)')!;
  assert.equal(fresh.fstype, 'sysfs');
});
