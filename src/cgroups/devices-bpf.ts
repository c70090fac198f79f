/**
 * Compile an emulated v1 device list (devices.ts) into an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE (pure). The kernel runs it on every device open and
 * mknod in the cgroup with a context of three u32s:
 *   access_type = (access bits << 16) | device type   (type: 1 block, 2 char;
 *                                                      access: 1 mknod, 2 read, 4 write)
 *   major, minor
 * and the return value 1 allows, 0 denies.
 *
 * Layout of the program:
 *   r2 = ctx->access_type; r3 = r2 & 0xffff (type); r4 = r2 >> 16 (access)
 *   r5 = ctx->major; r6 = ctx->minor
 *   for each exception: a block that falls through to the next one unless it matches,
 *     and returns the exception's verdict when it does;
 *   return the default verdict.
 * Matching follows the v1 kernel: under default deny an exception must hold every
 * requested access bit; under default allow any shared bit denies.
 */
import type { DeviceState } from './devices';

// Instruction classes and fields (linux/bpf.h, linux/bpf_common.h).
const BPF_LDX = 0x01;
const BPF_ALU64 = 0x07;
const BPF_JMP = 0x05;
const BPF_W = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_AND = 0x50;
const BPF_RSH = 0x70;
const BPF_MOV = 0xb0;
const BPF_X = 0x08;
const BPF_JEQ = 0x10;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

export const OP = {
  LDXW: BPF_LDX | BPF_MEM | BPF_W,
  AND_K: BPF_ALU64 | BPF_AND | BPF_K,
  RSH_K: BPF_ALU64 | BPF_RSH | BPF_K,
  MOV_X: BPF_ALU64 | BPF_MOV | BPF_X,
  MOV_K: BPF_ALU64 | BPF_MOV | BPF_K,
  JEQ_K: BPF_JMP | BPF_JEQ | BPF_K,
  JNE_K: BPF_JMP | BPF_JNE | BPF_K,
  EXIT: BPF_JMP | BPF_EXIT,
} as const;

export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;

export interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const ins = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

/** The instructions of one exception; every jump in it targets the next block (patched). */
function exceptionBlock(e: DeviceState['exceptions'][number], defaultAllow: boolean): Insn[] {
  const block: Insn[] = [];
  block.push(ins(OP.JNE_K, 3, 0, 0, e.type === 'b' ? DEV_BLOCK : DEV_CHAR));
  if (e.major !== -1) block.push(ins(OP.JNE_K, 5, 0, 0, e.major | 0));
  if (e.minor !== -1) block.push(ins(OP.JNE_K, 6, 0, 0, e.minor | 0));
  if (defaultAllow) {
    // Deny when any requested bit is in the exception.
    block.push(ins(OP.MOV_X, 7, 4, 0, 0));
    block.push(ins(OP.AND_K, 7, 0, 0, e.access));
    block.push(ins(OP.JEQ_K, 7, 0, 0, 0));
  } else if ((e.access & 7) !== 7) {
    // Allow only when no requested bit is outside the exception.
    block.push(ins(OP.MOV_X, 7, 4, 0, 0));
    block.push(ins(OP.AND_K, 7, 0, 0, ~e.access & 7));
    block.push(ins(OP.JNE_K, 7, 0, 0, 0));
  }
  block.push(ins(OP.MOV_K, 0, 0, 0, defaultAllow ? 0 : 1));
  block.push(ins(OP.EXIT, 0, 0, 0, 0));
  // Point every conditional jump past the end of the block.
  block.forEach((insn, i) => {
    if (insn.op === OP.JEQ_K || insn.op === OP.JNE_K) insn.off = block.length - i - 1;
  });
  return block;
}

/** The program as instruction records (for tests and the interpreter). */
export function deviceProgramInsns(state: DeviceState): Insn[] {
  const prog: Insn[] = [
    ins(OP.LDXW, 2, 1, 0, 0), // access_type
    ins(OP.MOV_X, 3, 2, 0, 0),
    ins(OP.AND_K, 3, 0, 0, 0xffff),
    ins(OP.MOV_X, 4, 2, 0, 0),
    ins(OP.RSH_K, 4, 0, 0, 16),
    ins(OP.LDXW, 5, 1, 4, 0), // major
    ins(OP.LDXW, 6, 1, 8, 0), // minor
  ];
  for (const e of state.exceptions) prog.push(...exceptionBlock(e, state.defaultAllow));
  prog.push(ins(OP.MOV_K, 0, 0, 0, state.defaultAllow ? 1 : 0));
  prog.push(ins(OP.EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn, little-endian: code, dst_reg:4 | src_reg:4, off (s16), imm (s32). */
export function encodeInsns(prog: Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    buf.writeUInt8(p.op, i * 8);
    buf.writeUInt8((p.dst & 0xf) | ((p.src & 0xf) << 4), i * 8 + 1);
    buf.writeInt16LE(p.off, i * 8 + 2);
    buf.writeInt32LE(p.imm | 0, i * 8 + 4);
  });
  return buf;
}

export function decodeInsns(buf: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i + 8 <= buf.length; i += 8) {
    const regs = buf.readUInt8(i + 1);
    out.push({ op: buf.readUInt8(i), dst: regs & 0xf, src: regs >> 4, off: buf.readInt16LE(i + 2), imm: buf.readInt32LE(i + 4) });
  }
  return out;
}

/** The program's bytes, ready for BPF_PROG_LOAD. */
export function compileDeviceProgram(state: DeviceState): Buffer {
  return encodeInsns(deviceProgramInsns(state));
}
