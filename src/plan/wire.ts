/**
 * Binary encoding of the plan and of the messages exchanged with carton-init.
 * docs/protocol.md is the reference; native/init/protocol.c is the reader.
 *
 * Frame: u32 LE length of (type + payload), u32 LE type, payload.
 * PLAN payload: u32 op count, then per op: u32 opcode, u32 argc, args.
 * Arg: u8 tag 1 = u64 LE | u8 tag 2 = bytes (u32 LE length + bytes, no NUL).
 */
import { CartonError } from '../common/errors';
import { HostMessage, InitMessage, Op, OpCode } from './ops';

export const ARG_U64 = 1;
export const ARG_BYTES = 2;

/** Largest frame either side accepts (the init refuses bigger ones). */
export const MAX_FRAME = 64 * 1024 * 1024;

export type WireArg = { u64: bigint } | { bytes: Uint8Array };

const u = (v: number | bigint | boolean): WireArg => ({
  u64: BigInt.asUintN(64, typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v)),
});

/** A string argument; a NUL inside would be silently cut by the C side, so refuse it. */
function str(value: string, op: Op): WireArg {
  if (value.includes('\0')) {
    throw new CartonError('EINVAL_CONFIG', `${op.source}: ${JSON.stringify(value)} contains a NUL byte`);
  }
  return { bytes: Buffer.from(value, 'utf8') };
}

/** The argument list of one op, in the order docs/protocol.md gives. */
export function opArgs(op: Op): WireArg[] {
  switch (op.op) {
    case OpCode.UNSHARE: return [u(op.flags)];
    case OpCode.SETNS: return [u(op.nstype), str(op.path, op)];
    case OpCode.SYNC: return [str(op.tag, op)];
    case OpCode.FORK:
      if (!op.cgroup2Dir && !op.leaveFiles?.length) return [u(op.mode)];
      return [u(op.mode), str(op.cgroup2Dir ?? '', op), ...(op.leaveFiles ?? []).map((f) => str(f, op))];
    case OpCode.TIMENS_OFFSETS: return [str(op.content, op)];
    case OpCode.CONSOLE_SOCKET: return [str(op.path, op)];
    case OpCode.OPEN_FIFO: return [str(op.path, op)];
    case OpCode.SET_ROOT: return [str(op.path, op)];
    case OpCode.MOUNT:
      return [str(op.device, op), str(op.target, op), u(op.targetKind), str(op.fstype, op), u(op.flags), str(op.data, op)];
    case OpCode.MOUNT_SETATTR:
      return [str(op.target, op), u(op.targetKind), u(op.attrSet), u(op.attrClear), u(op.propagation), u(op.recursive)];
    case OpCode.MKNOD:
      return [str(op.path, op), u(op.mode), u(op.major), u(op.minor), u(op.uid), u(op.gid), str(op.bindFallback, op)];
    case OpCode.SYMLINK: return [str(op.target, op), str(op.path, op)];
    case OpCode.MKDIR: return [str(op.path, op), u(op.mode)];
    case OpCode.PIVOT_ROOT: return [];
    case OpCode.MOVE_ROOT: return [];
    case OpCode.MASK_PATH: return [str(op.path, op)];
    case OpCode.READONLY_PATH: return [str(op.path, op)];
    case OpCode.WRITE_FILE: return [str(op.path, op), { bytes: Buffer.from(op.content, 'utf8') }];
    case OpCode.SETHOSTNAME: return [str(op.name, op)];
    case OpCode.SETDOMAINNAME: return [str(op.name, op)];
    case OpCode.SETRLIMIT: return [u(op.resource), u(op.soft), u(op.hard)];
    case OpCode.UMASK: return [u(op.mask)];
    case OpCode.SET_USER: return [u(op.uid), u(op.gid), u(op.setGroups), ...op.groups.map((g) => u(g))];
    case OpCode.CAPS:
      return [u(op.bounding), u(op.effective), u(op.permitted), u(op.inheritable), u(op.ambient)];
    case OpCode.NO_NEW_PRIVS: return [];
    case OpCode.SECCOMP:
      if (op.program.length % 8 !== 0 || op.program.length === 0) {
        throw new CartonError('EINTERNAL', `${op.source}: seccomp program of ${op.program.length} bytes is not a list of 8-byte instructions`);
      }
      return [u(op.flags), { bytes: op.program }];
    case OpCode.CONSOLE: return [u(op.rows), u(op.cols)];
    case OpCode.SETSID: return [];
    case OpCode.CHDIR: return [str(op.path, op)];
    case OpCode.CLOSE_FDS: return [u(op.first)];
    case OpCode.READY: return [];
    case OpCode.WAIT_START: return [u(op.mode)];
    case OpCode.LOOKUP:
    case OpCode.EXEC:
      if (op.argv.length === 0) throw new CartonError('EINVAL_CONFIG', `${op.source}: args must not be empty`);
      return [u(op.argv.length), ...op.argv.map((a) => str(a, op)), ...op.env.map((e) => str(e, op))];
    case OpCode.PERSONALITY: return [u(op.domain)];
    case OpCode.SET_DUMPABLE: return [u(op.dumpable)];
    case OpCode.NOTE: return [str(op.key, op), str(op.value, op)];
    case OpCode.SECCOMP_LISTENER_SOCKET: return [str(op.path, op)];
    case OpCode.LOOPBACK_UP: return [];
    case OpCode.PROGRAM: return [str(op.path, op)];
  }
  const never: never = op;
  throw new CartonError('EINTERNAL', `unknown op ${JSON.stringify(never)}`);
}

function argSize(a: WireArg): number {
  return 'u64' in a ? 9 : 5 + a.bytes.length;
}

/** Encode a whole PLAN frame, ready to write to the init's socket. */
export function encodePlan(ops: Op[]): Buffer {
  const encoded = ops.map((op) => ({ code: op.op as number, args: opArgs(op) }));
  let size = 4;
  for (const e of encoded) size += 8 + e.args.reduce((n, a) => n + argSize(a), 0);
  const payload = Buffer.alloc(size);
  let o = payload.writeUInt32LE(encoded.length, 0);
  for (const e of encoded) {
    o = payload.writeUInt32LE(e.code, o);
    o = payload.writeUInt32LE(e.args.length, o);
    for (const a of e.args) {
      if ('u64' in a) {
        o = payload.writeUInt8(ARG_U64, o);
        o = payload.writeBigUInt64LE(a.u64, o);
      } else {
        o = payload.writeUInt8(ARG_BYTES, o);
        o = payload.writeUInt32LE(a.bytes.length, o);
        payload.set(a.bytes, o);
        o += a.bytes.length;
      }
    }
  }
  return encodeFrame(HostMessage.PLAN, payload);
}

/** CONTINUE answers a SYNC: status 0 goes on; the payload is kept by the init (seccomp agent state). */
export function encodeContinue(status: number, payload?: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(status >>> 0, 0);
  return encodeFrame(HostMessage.CONTINUE, payload ? Buffer.concat([head, payload]) : head);
}

export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  if (payload.length + 4 > MAX_FRAME) throw new CartonError('EINTERNAL', `plan frame of ${payload.length} bytes is too large`);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length + 4, 0);
  head.writeUInt32LE(type, 4);
  return Buffer.concat([head, payload]);
}

/** A message from the init, decoded. */
export type InitEvent =
  | { type: 'pid'; pid: number }
  | { type: 'sync'; opIndex: number }
  | { type: 'ready' }
  | { type: 'error'; opIndex: number; errno: number; message: string }
  | { type: 'exit'; status: number }
  | { type: 'started' };

/** Op index the init uses for failures that belong to no op (bad frame, start-up). */
export const NO_OP_INDEX = 0xffffffff;

export function decodeInitMessage(type: number, payload: Buffer): InitEvent {
  const need = (n: number): void => {
    if (payload.length < n) throw new CartonError('EINTERNAL', `init message ${type} is truncated (${payload.length} bytes)`);
  };
  switch (type) {
    case InitMessage.PID: need(4); return { type: 'pid', pid: payload.readInt32LE(0) };
    case InitMessage.SYNC: need(4); return { type: 'sync', opIndex: payload.readUInt32LE(0) };
    case InitMessage.READY: return { type: 'ready' };
    case InitMessage.ERROR:
      need(8);
      return { type: 'error', opIndex: payload.readUInt32LE(0), errno: payload.readInt32LE(4), message: payload.subarray(8).toString('utf8') };
    case InitMessage.EXIT: need(4); return { type: 'exit', status: payload.readInt32LE(0) };
    case InitMessage.STARTED: return { type: 'started' };
    default:
      throw new CartonError('EINTERNAL', `unknown message type ${type} from carton-init`);
  }
}

/** Splits a byte stream into frames; push chunks as they arrive. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: { type: number; payload: Buffer }[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len < 4 || len > MAX_FRAME) throw new CartonError('EINTERNAL', `bad frame length ${len} from carton-init`);
      if (this.buf.length < 4 + len) break;
      frames.push({ type: this.buf.readUInt32LE(4), payload: this.buf.subarray(8, 4 + len) });
      this.buf = this.buf.subarray(4 + len);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }
}
