/**
 * A tiny eBPF interpreter for the instructions devices-bpf.ts emits, so unit tests
 * can run the compiled bytes against requests without a kernel. It also checks what
 * the kernel verifier would reject for such a program: jumps out of range, reads of
 * registers never written, falling off the end, unknown opcodes.
 */
import { decodeInsns, OP } from './devices-bpf';

/** Run a BPF_PROG_TYPE_CGROUP_DEVICE program on one request; returns r0. */
export function runDeviceProgram(bytes: Buffer, ctx: { type: number; access: number; major: number; minor: number }): number {
  const prog = decodeInsns(bytes);
  const mem = Buffer.alloc(12);
  mem.writeUInt32LE(((ctx.access << 16) | ctx.type) >>> 0, 0);
  mem.writeUInt32LE(ctx.major >>> 0, 4);
  mem.writeUInt32LE(ctx.minor >>> 0, 8);
  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  regs[1] = 0n; // ctx pointer: offsets are relative to the context
  const mask = (1n << 64n) - 1n;
  const read = (r: number, pc: number): bigint => {
    const v = regs[r];
    if (v === undefined) throw new Error(`insn ${pc}: r${r} read before written`);
    return v;
  };
  const imm64 = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm)); // sign-extended
  let pc = 0;
  for (let steps = 0; steps < 100000; steps++) {
    if (pc < 0 || pc >= prog.length) throw new Error(`pc ${pc} out of program`);
    const p = prog[pc];
    switch (p.op) {
      case OP.LDXW: {
        if (p.src !== 1) throw new Error(`insn ${pc}: load from r${p.src}, not ctx`);
        const at = Number(read(p.src, pc)) + p.off;
        if (at < 0 || at + 4 > 12 || at % 4 !== 0) throw new Error(`insn ${pc}: ctx read at ${at}`);
        regs[p.dst] = BigInt(mem.readUInt32LE(at));
        break;
      }
      case OP.MOV_X: regs[p.dst] = read(p.src, pc); break;
      case OP.MOV_K: regs[p.dst] = imm64(p.imm); break;
      case OP.AND_K: regs[p.dst] = read(p.dst, pc) & imm64(p.imm); break;
      case OP.RSH_K: regs[p.dst] = (read(p.dst, pc) & mask) >> BigInt(p.imm & 63); break;
      case OP.JEQ_K: if (read(p.dst, pc) === imm64(p.imm)) pc += p.off; break;
      case OP.JNE_K: if (read(p.dst, pc) !== imm64(p.imm)) pc += p.off; break;
      case OP.EXIT: return Number(read(0, pc) & 0xffffffffn);
      default: throw new Error(`insn ${pc}: opcode 0x${p.op.toString(16)} not handled`);
    }
    pc++;
  }
  throw new Error('program did not terminate');
}
