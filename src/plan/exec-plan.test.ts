import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildExecPlan } from './index';
import { CLONE, ForkMode, OpCode } from './ops';
import type { Process } from '../oci/spec';
import { extras, base, first, last, all, before } from './testdata/plan-inputs';

test('exec: joins user first and mount last, forks, sets the process up', () => {
  const spec = base();
  spec.linux!.namespaces!.push({ type: 'user' }, { type: 'cgroup' });
  const proc: Process = { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH=/bin'], noNewPrivileges: true,
    rlimits: [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }] };
  const ops = buildExecPlan(proc, { containerPid: 4242, namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'], detach: false, preserveFds: 1 },
    spec, extras({ seccomp: { program: new Uint8Array(8), flags: 0 } }));
  assert.deepEqual(all(ops, OpCode.SETNS).map((s) => s.path), [
    '/proc/4242/ns/user', '/proc/4242/ns/ipc', '/proc/4242/ns/uts', '/proc/4242/ns/net',
    '/proc/4242/ns/pid', '/proc/4242/ns/cgroup', '/proc/4242/ns/mnt',
  ]);
  assert.equal(all(ops, OpCode.SETNS)[6].nstype, CLONE.NEWNS);
  before(ops, last(ops, OpCode.SETNS), first(ops, OpCode.FORK), 'join then fork');
  assert.equal(all(ops, OpCode.FORK)[0].mode, ForkMode.WAIT);
  for (const code of [OpCode.UNSHARE, OpCode.READY, OpCode.WAIT_START, OpCode.MOUNT, OpCode.PIVOT_ROOT]) assert.equal(first(ops, code), -1);
  before(ops, first(ops, OpCode.SETRLIMIT), first(ops, OpCode.SET_USER), 'rlimits before user');
  before(ops, first(ops, OpCode.NO_NEW_PRIVS), first(ops, OpCode.SECCOMP), 'nnp then seccomp');
  assert.equal(all(ops, OpCode.CLOSE_FDS)[0].first, 4);
  assert.equal(ops[ops.length - 1].op, OpCode.EXEC);
  const detached = buildExecPlan(proc, { containerPid: 1, namespaces: [], detach: true, preserveFds: 0 }, spec, extras());
  assert.equal(all(detached, OpCode.FORK)[0].mode, ForkMode.DETACH);
  assert.equal(all(detached, OpCode.SETNS).length, 7, 'namespaces taken from the container config when ctx has none');
});
