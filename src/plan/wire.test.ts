import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForkMode, MountTargetKind, Op, OpCode, HostMessage, InitMessage, CLONE, MS } from './ops';
import { encodePlan, encodeContinue, decodeInitMessage, FrameReader, opArgs, ARG_BYTES, ARG_U64 } from './wire';
import { CartonError } from '../common/errors';

/** A tiny reader mirroring native/init/protocol.c, so the test states the format independently of the encoder. */
function parsePlan(frame: Buffer): { code: number; args: (bigint | string)[] }[] {
  assert.equal(frame.readUInt32LE(0), frame.length - 4);
  assert.equal(frame.readUInt32LE(4), HostMessage.PLAN);
  let o = 8;
  const count = frame.readUInt32LE(o); o += 4;
  const ops = [];
  for (let i = 0; i < count; i++) {
    const code = frame.readUInt32LE(o); o += 4;
    const argc = frame.readUInt32LE(o); o += 4;
    const args: (bigint | string)[] = [];
    for (let j = 0; j < argc; j++) {
      const tag = frame.readUInt8(o); o += 1;
      if (tag === ARG_U64) { args.push(frame.readBigUInt64LE(o)); o += 8; }
      else if (tag === ARG_BYTES) {
        const len = frame.readUInt32LE(o); o += 4;
        args.push(frame.subarray(o, o + len).toString('utf8')); o += len;
      } else assert.fail(`bad tag ${tag}`);
    }
    ops.push({ code, args });
  }
  assert.equal(o, frame.length, 'no trailing bytes');
  return ops;
}

test('plan frame: header, op codes and argument order', () => {
  const ops: Op[] = [
    { op: OpCode.UNSHARE, source: 'linux.namespaces', flags: CLONE.NEWNS | CLONE.NEWPID },
    { op: OpCode.FORK, source: 'fork', mode: ForkMode.WAIT },
    {
      op: OpCode.MOUNT, source: 'mounts[0] (/proc)', device: 'proc', target: '/proc',
      targetKind: MountTargetKind.IN_ROOT_CREATE_DIR, fstype: 'proc', flags: MS.NOSUID, data: '',
    },
    { op: OpCode.SETRLIMIT, source: 'process.rlimits[0]', resource: 7, soft: 1024n, hard: 0xffffffffffffffffn },
    { op: OpCode.SET_USER, source: 'process.user', uid: 1000, gid: 1000, setGroups: true, groups: [5, 6] },
    { op: OpCode.EXEC, source: 'process.args', argv: ['sh', '-c', 'echo é'], env: ['PATH=/bin'] },
  ];
  const parsed = parsePlan(encodePlan(ops));
  assert.deepEqual(parsed, [
    { code: 1, args: [BigInt(CLONE.NEWNS | CLONE.NEWPID)] },
    { code: 4, args: [1n] },
    { code: 9, args: ['proc', '/proc', 2n, 'proc', 2n, ''] },
    { code: 21, args: [7n, 1024n, 0xffffffffffffffffn] },
    { code: 23, args: [1000n, 1000n, 1n, 5n, 6n] },
    { code: 34, args: [3n, 'sh', '-c', 'echo é', 'PATH=/bin'] },
  ]);
});

test('every op code encodes (exhaustive switch) and the count matches', () => {
  const all: Op[] = [
    { op: OpCode.SETNS, source: 's', nstype: CLONE.NEWNET, path: '/run/netns/x' },
    { op: OpCode.SYNC, source: 's', tag: 'maps' },
    { op: OpCode.CAPS, source: 's', bounding: 1n << 40n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n },
    { op: OpCode.SECCOMP, source: 's', flags: 0, program: new Uint8Array(16), listenerPath: '', listenerMetadata: '' },
    { op: OpCode.SECCOMP_LISTENER_SOCKET, source: 's', path: '/run/agent.sock' },
    { op: OpCode.PIVOT_ROOT, source: 's' },
    { op: OpCode.SET_DUMPABLE, source: 's', dumpable: false },
  ];
  const parsed = parsePlan(encodePlan(all));
  assert.equal(parsed.length, all.length);
  assert.deepEqual(parsed[2].args, [1n << 40n, 0n, 0n, 0n, 0n]);
  assert.equal(parsed[3].args.length, 2);
  assert.deepEqual(parsed[4], { code: 38, args: ['/run/agent.sock'] });
  assert.deepEqual(parsed[5].args, []);
  assert.deepEqual(parsed[6].args, [0n]);
});

test('NUL bytes in strings are refused with the op source named', () => {
  assert.throws(
    () => opArgs({ op: OpCode.CHDIR, source: 'process.cwd', path: '/a\0b' }),
    (e: unknown) => e instanceof CartonError && e.code === 'EINVAL_CONFIG' && e.message.startsWith('process.cwd:'),
  );
});

test('seccomp program must be whole instructions', () => {
  assert.throws(() => opArgs({ op: OpCode.SECCOMP, source: 'linux.seccomp', flags: 0, program: new Uint8Array(7), listenerPath: '', listenerMetadata: '' }));
});

test('CONTINUE carries status and optional payload', () => {
  const plain = encodeContinue(0);
  assert.deepEqual([...plain], [8, 0, 0, 0, HostMessage.CONTINUE, 0, 0, 0, 0, 0, 0, 0]);
  const withPayload = encodeContinue(1, Buffer.from('{}'));
  assert.equal(withPayload.readUInt32LE(0), 10);
  assert.equal(withPayload.readUInt32LE(8), 1);
  assert.equal(withPayload.subarray(12).toString(), '{}');
});

test('frame reader splits and reassembles init messages', () => {
  const frame = (type: number, payload: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(payload.length + 4, 0);
    h.writeUInt32LE(type, 4);
    return Buffer.concat([h, payload]);
  };
  const pid = Buffer.alloc(4); pid.writeInt32LE(4242);
  const err = Buffer.alloc(8); err.writeUInt32LE(3, 0); err.writeInt32LE(1, 4);
  const stream = Buffer.concat([frame(InitMessage.PID, pid), frame(InitMessage.READY, Buffer.alloc(0)), frame(InitMessage.ERROR, Buffer.concat([err, Buffer.from('pivot_root')]))]);
  const r = new FrameReader();
  const got = [];
  for (let i = 0; i < stream.length; i += 5) got.push(...r.push(stream.subarray(i, i + 5)));
  assert.equal(r.pending, 0);
  assert.deepEqual(got.map((f) => decodeInitMessage(f.type, f.payload)), [
    { type: 'pid', pid: 4242 },
    { type: 'ready' },
    { type: 'error', opIndex: 3, errno: 1, message: 'pivot_root' },
  ]);
  assert.throws(() => new FrameReader().push(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])));
});
