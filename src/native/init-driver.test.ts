import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWaitStatus, initError } from './init-driver';
import { Op, OpCode } from '../plan/ops';
import { NO_OP_INDEX } from '../plan/wire';

const ops: Op[] = [
  { op: OpCode.MOUNT, source: 'mounts[0] (/proc)', device: 'proc', target: '/proc', targetKind: 2, fstype: 'proc', flags: 0, data: '' },
  { op: OpCode.LOOKUP, source: 'process.args[0] (nosuch)', argv: ['nosuch'], env: [] },
  { op: OpCode.EXEC, source: 'process.args[0] (/bin/x)', argv: ['/bin/x'], env: [] },
];

test('init errors name the op source, the syscall message and the errno text', () => {
  const e = initError(ops, { opIndex: 0, errno: 1, message: 'mount proc on /proc' });
  assert.equal(e.code, 'EKERNEL');
  assert.equal(e.message, 'mounts[0] (/proc): mount proc on /proc: operation not permitted');
});

test('exec errors read like runc and carry 127 / 126', () => {
  const notFound = initError(ops, { opIndex: 1, errno: 2, message: 'exec nosuch' });
  assert.equal(notFound.code, 'EEXEC_NOTFOUND');
  assert.equal(notFound.exitCode, 127);
  assert.equal(notFound.message, 'exec: "nosuch": executable file not found in $PATH');
  const abs = initError(ops, { opIndex: 2, errno: 2, message: 'exec' });
  assert.equal(abs.message, 'exec: "/bin/x": stat /bin/x: no such file or directory');
  const perm = initError(ops, { opIndex: 2, errno: 8, message: 'exec' });
  assert.equal(perm.code, 'EEXEC_PERM');
  assert.equal(perm.exitCode, 126);
  assert.equal(perm.message, 'exec: "/bin/x": exec format error');
});

test('errors outside any op are internal', () => {
  const e = initError(ops, { opIndex: NO_OP_INDEX, errno: 38, message: 'memfd_create' });
  assert.equal(e.code, 'EINTERNAL');
  assert.equal(e.message, 'carton-init: memfd_create: function not implemented');
});

test('wait statuses decode to shell-style exit codes', () => {
  assert.deepEqual(decodeWaitStatus(0), { code: 0 });
  assert.deepEqual(decodeWaitStatus(3 << 8), { code: 3 });
  assert.deepEqual(decodeWaitStatus(9), { code: 137, signal: 'SIGKILL' });
  assert.deepEqual(decodeWaitStatus(15 | 0x80), { code: 143, signal: 'SIGTERM' });
});
