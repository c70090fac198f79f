import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleIdentity, decodeRequest, encodeRequest, encodeSpawn, int32s, readInt32s, spawnSlots } from './protocol';

test('a request decodes into identity, arguments and environment', () => {
  const r = decodeRequest(encodeRequest({ identity: '1:2:3:4.000000005', args: ['--root', '/x', 'state', ''], env: ['A=1', 'B=x=y', 'A=2', 'NOEQUALS'] }));
  assert.equal(r.identity, '1:2:3:4.000000005');
  assert.deepEqual(r.args, ['--root', '/x', 'state', '']);
  // getenv(3) finds the first of duplicate entries; an entry without "=" is no variable.
  assert.deepEqual(r.env, { A: '1', B: 'x=y' });
});

test('malformed requests are refused, not guessed at', () => {
  assert.throws(() => decodeRequest(Buffer.from('id\x002\x00only-one\x00')), /malformed/);
  assert.throws(() => decodeRequest(Buffer.from('id\x00x\x00')), /malformed/);
  assert.throws(() => decodeRequest(Buffer.from('id\x000')), /NUL-terminated/);
});

test('spawn slots: own fds stay the client\'s, others are attached once, the socket goes last', () => {
  // fds 0 and 2 inherited, fd 1 and fd 4 from this process's fd 9 (/dev/null), fd 3 inherited.
  const { slots, attached } = spawnSlots([0, 9, 2, 3, 9], 12);
  assert.deepEqual(slots, [-1, 0, -1, -1, 0]);
  assert.deepEqual(attached, [9, 12]);
  assert.equal(encodeSpawn('/x/carton-init', 'CARTON_INIT_FD=5', slots).toString(), '/x/carton-init\0CARTON_INIT_FD=5\x005\0-1\x000\0-1\0-1\x000\0');
  assert.throws(() => encodeSpawn('/x\0y', 'E=1', []), /NUL/);
});

test('int32 payloads round-trip and lengths are checked', () => {
  assert.deepEqual(readInt32s(int32s(-1, 2147483647, 0), 3), [-1, 2147483647, 0]);
  assert.throws(() => readInt32s(Buffer.alloc(7), 2), /expected 2/);
});

test('bundle identity matches the client\'s format (dev:ino:size:sec.nsec, nanoseconds padded)', () => {
  assert.equal(bundleIdentity({ dev: 2049n, ino: 77n, size: 316000n, mtimeNs: 1764489600000000042n }), '2049:77:316000:1764489600.000000042');
});
