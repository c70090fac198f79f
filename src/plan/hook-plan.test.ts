import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHookPlan } from './hook-plan';
import { describePlan } from './describe';
import { ForkMode, OpCode } from './ops';

test('a container hook: joins (user first, then root in it), FORK WAIT, own session, the file apart from argv[0]', () => {
  const where = 'hooks.startContainer[0] (/bin/busybox)';
  const ops = buildHookPlan({ path: '/bin/busybox', args: ['sh', '-c', 'id'], env: ['A=1'] }, where, 42, ['mount', 'user', 'pid']);
  assert.deepEqual(ops.map((o) => o.op), [
    OpCode.SETNS, OpCode.SET_USER, OpCode.SETNS, OpCode.SETNS, OpCode.FORK, OpCode.SETSID, OpCode.PROGRAM, OpCode.EXEC,
  ]);
  assert.deepEqual(ops.filter((o) => o.op === OpCode.SETNS).map((o) => (o.op === OpCode.SETNS ? o.path : '')),
    ['/proc/42/ns/user', '/proc/42/ns/pid', '/proc/42/ns/mnt']);
  assert.ok(ops.every((o) => o.source === where), describePlan(ops).join('\n'));
  const fork = ops.find((o) => o.op === OpCode.FORK);
  assert.equal(fork && fork.op === OpCode.FORK ? fork.mode : -1, ForkMode.WAIT);
  const program = ops.find((o) => o.op === OpCode.PROGRAM);
  assert.equal(program && program.op === OpCode.PROGRAM ? program.path : '', '/bin/busybox');
  const exec = ops[ops.length - 1];
  assert.deepEqual(exec.op === OpCode.EXEC ? [exec.argv, exec.env] : [], [['sh', '-c', 'id'], ['A=1']]);
});

test('no args: argv is the path; nothing shared is joined', () => {
  const ops = buildHookPlan({ path: '/hook' }, 'hooks.createContainer[0] (/hook)', 7, []);
  assert.deepEqual(ops.map((o) => o.op), [OpCode.FORK, OpCode.SETSID, OpCode.PROGRAM, OpCode.EXEC]);
  const exec = ops[ops.length - 1];
  assert.deepEqual(exec.op === OpCode.EXEC ? exec.argv : [], ['/hook']);
});
