import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreatePlan, buildCreatePlanWithWarnings, buildExecPlan } from './index';
import { planCgroupJoin } from './cgroup-join';
import type { CgroupJoin } from './inputs';
import { CLONE, OpCode } from './ops';
import { validateSpec } from '../oci/validate';
import { all, base, ctx, extras, first } from './testdata/plan-inputs';

const JOIN: CgroupJoin = {
  v1Dirs: ['/sys/fs/cgroup/cpu/c1', '/sys/fs/cgroup/pids/c1'],
  v2Dir: '/sys/fs/cgroup/unified/c1',
  ownV1Dirs: ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/pids/user'],
};

test('no join plan: nothing added, the runtime moves the init itself', () => {
  assert.deepEqual(planCgroupJoin(undefined, { viaProcs: false, parentWaits: true }), { first: [], fork: {}, initLeaves: false });
});

test('v1 hierarchies are joined by the init through tasks, cgroup2 at FORK, a waiting parent leaves', () => {
  const p = planCgroupJoin(JOIN, { viaProcs: false, parentWaits: true });
  assert.deepEqual(p.first.map((o) => (o.op === OpCode.WRITE_FILE ? [o.path, o.content, o.source] : o.op)), [
    ['/sys/fs/cgroup/cpu/c1/tasks', '0', 'linux.cgroupsPath'],
    ['/sys/fs/cgroup/pids/c1/tasks', '0', 'linux.cgroupsPath'],
  ]);
  assert.deepEqual(p.fork, { cgroup2Dir: '/sys/fs/cgroup/unified/c1', leaveFiles: ['/sys/fs/cgroup/cpu/tasks', '/sys/fs/cgroup/pids/user/tasks'] });
  assert.equal(p.initLeaves, true);
});

test('a parent that exits (create, exec -d) does not leave; pure v2 has no v1 writes', () => {
  assert.equal(planCgroupJoin(JOIN, { viaProcs: false, parentWaits: false }).fork.leaveFiles, undefined);
  const v2 = planCgroupJoin({ v1Dirs: [], v2Dir: '/sys/fs/cgroup/c1', ownV1Dirs: [] }, { viaProcs: false, parentWaits: true });
  assert.deepEqual(v2, { first: [], fork: { cgroup2Dir: '/sys/fs/cgroup/c1', leaveFiles: undefined }, initLeaves: true });
});

test('a user namespace: cgroup2 joined up front through cgroup.procs, no CLONE_INTO_CGROUP, the runtime moves the init back', () => {
  const p = planCgroupJoin(JOIN, { viaProcs: true, parentWaits: true });
  assert.deepEqual(p.first.map((o) => (o.op === OpCode.WRITE_FILE ? o.path : '')), [
    '/sys/fs/cgroup/cpu/c1/tasks', '/sys/fs/cgroup/pids/c1/tasks', '/sys/fs/cgroup/unified/c1/cgroup.procs',
  ]);
  assert.deepEqual(p.fork, {});
  assert.equal(p.initLeaves, false);
});

test('create plan: the joins come first, before any namespace change, and FORK carries the cgroup2 dir', () => {
  const planned = buildCreatePlanWithWarnings(base(), ctx({ mode: 'run', cgroupJoin: JOIN }), extras());
  const ops = planned.ops;
  assert.equal(ops[0].op, OpCode.WRITE_FILE);
  assert.ok(first(ops, OpCode.SETNS) > 1 && first(ops, OpCode.UNSHARE) > 1);
  const fork = all(ops, OpCode.FORK)[0];
  assert.equal(fork.cgroup2Dir, JOIN.v2Dir);
  assert.deepEqual(fork.leaveFiles, ['/sys/fs/cgroup/cpu/tasks', '/sys/fs/cgroup/pids/user/tasks']);
  assert.equal(planned.initLeavesCgroups, true);
});

test('exec plan: the exec process joins the same way; a detached one has no leave files', () => {
  const spec = base();
  const proc = { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } };
  const ops = buildExecPlan(proc, { containerPid: 42, namespaces: [], detach: false, preserveFds: 0, cgroupJoin: JOIN }, spec, extras());
  assert.ok(first(ops, OpCode.WRITE_FILE) < first(ops, OpCode.SETNS));
  assert.equal(all(ops, OpCode.FORK)[0].cgroup2Dir, JOIN.v2Dir);
  const detached = buildExecPlan(proc, { containerPid: 42, namespaces: [], detach: true, preserveFds: 0, cgroupJoin: JOIN }, spec, extras());
  assert.equal(all(detached, OpCode.FORK)[0].leaveFiles, undefined);
});

test('lo is brought up in a new network namespace only, in the container process', () => {
  const own = validateSpec({ ...base(), linux: { ...base().linux, namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'uts' }, { type: 'mount' }] } });
  const ops = buildCreatePlan(own, ctx(), extras());
  assert.equal(all(ops, OpCode.LOOPBACK_UP).length, 1);
  assert.ok(first(ops, OpCode.LOOPBACK_UP) > first(ops, OpCode.FORK));
  assert.equal(all(ops, OpCode.LOOPBACK_UP)[0].source, 'linux.namespaces[1] (network)');
  // base() joins /run/netns/n1: that namespace is someone else's to configure.
  assert.equal(all(buildCreatePlan(base(), ctx(), extras()), OpCode.LOOPBACK_UP).length, 0);
});

test('a new cgroup namespace is created by the process FORK placed in its cgroup, not before', () => {
  const spec = validateSpec({ ...base(), linux: { ...base().linux, namespaces: [{ type: 'pid' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }, { type: 'network' }] } });
  const ops = buildCreatePlan(spec, ctx({ cgroupJoin: JOIN }), extras());
  const fork = first(ops, OpCode.FORK);
  const unshares = all(ops, OpCode.UNSHARE);
  assert.equal(unshares[0].flags & CLONE.NEWCGROUP, 0, 'not in the init, before FORK');
  assert.deepEqual(ops[fork + 1], { op: OpCode.UNSHARE, flags: CLONE.NEWCGROUP, source: 'linux.namespaces[3] (cgroup)' });
  // Without a cgroup2 directory to fork into, the init creates it with the others, as before.
  const plain = buildCreatePlan(spec, ctx(), extras());
  assert.equal(all(plain, OpCode.UNSHARE).length, 1);
  assert.notEqual(all(plain, OpCode.UNSHARE)[0].flags & CLONE.NEWCGROUP, 0);
});

test('exec with CLONE_INTO_CGROUP: cgroup and mount namespaces are joined after FORK, the rest before', () => {
  const proc = { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } };
  const types = ['pid', 'network', 'cgroup', 'mount', 'ipc'];
  const ops = buildExecPlan(proc, { containerPid: 42, namespaces: types, detach: false, preserveFds: 0, cgroupJoin: JOIN }, base(), extras());
  const fork = first(ops, OpCode.FORK);
  const joined = (o: (typeof ops)[number]) => (o.op === OpCode.SETNS ? o.path.split('/').pop() : '');
  assert.deepEqual(ops.slice(0, fork).map(joined).filter(Boolean), ['ipc', 'net', 'pid']);
  assert.deepEqual(ops.slice(fork + 1).map(joined).filter(Boolean), ['cgroup', 'mnt']);
  const noJoin = buildExecPlan(proc, { containerPid: 42, namespaces: types, detach: false, preserveFds: 0 }, base(), extras());
  assert.equal(noJoin.slice(first(noJoin, OpCode.FORK)).filter((o) => o.op === OpCode.SETNS).length, 0);
});
