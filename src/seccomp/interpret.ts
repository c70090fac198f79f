/**
 * A small classic-BPF interpreter for seccomp programs, so tests can run a
 * compiled filter over a syscall without loading it into a kernel. `verify`
 * applies the checks the kernel makes when the program is loaded.
 */
import * as B from './bpf';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly bigint[];
}

/** Kernel load-time checks (kernel/seccomp.c and net/core/filter.c); throws on the first problem. */
export function verify(insns: readonly B.SockFilter[]): void {
  if (insns.length === 0 || insns.length > B.BPF_MAXINSNS) {
    throw new Error(`program has ${insns.length} instructions (1..${B.BPF_MAXINSNS} allowed)`);
  }
  insns.forEach((insn, pc) => {
    const cls = insn.code & 0x07;
    const where = `instruction ${pc} (code 0x${insn.code.toString(16)})`;
    if (cls === B.BPF_JMP) {
      const op = insn.code & 0xf0;
      if (op === B.BPF_JA) {
        if (insn.code !== (B.BPF_JMP | B.BPF_JA)) throw new Error(`${where}: bad jump`);
        if (pc + 1 + insn.k >= insns.length) throw new Error(`${where}: ja past the end`);
      } else if ([B.BPF_JEQ, B.BPF_JGT, B.BPF_JGE, B.BPF_JSET].includes(op)) {
        if (pc + 1 + Math.max(insn.jt, insn.jf) >= insns.length) throw new Error(`${where}: jump past the end`);
      } else {
        throw new Error(`${where}: unknown jump`);
      }
      return;
    }
    switch (insn.code) {
      case B.BPF_LD | B.BPF_W | B.BPF_ABS:
        if (insn.k >= B.SECCOMP_DATA_SIZE || insn.k % 4 !== 0) throw new Error(`${where}: load outside seccomp_data`);
        return;
      case B.BPF_LD | B.BPF_W | B.BPF_LEN:
      case B.BPF_LDX | B.BPF_W | B.BPF_LEN:
      case B.BPF_LD | B.BPF_IMM:
      case B.BPF_LDX | B.BPF_IMM:
      case B.BPF_RET | B.BPF_K:
      case B.BPF_RET | B.BPF_A:
      case B.BPF_MISC | B.BPF_TAX:
      case B.BPF_MISC | B.BPF_TXA:
      case B.BPF_ALU | B.BPF_NEG:
        return;
      case B.BPF_LD | B.BPF_MEM:
      case B.BPF_LDX | B.BPF_MEM:
      case B.BPF_ST:
      case B.BPF_STX:
        if (insn.k >= B.BPF_MEMWORDS) throw new Error(`${where}: scratch slot ${insn.k} out of range`);
        return;
    }
    if (cls === B.BPF_ALU) {
      const op = insn.code & 0xf0;
      if (op > B.BPF_XOR) throw new Error(`${where}: unknown ALU op`);
      if ((insn.code & B.BPF_X) === 0 && (op === B.BPF_DIV || op === B.BPF_MOD) && insn.k === 0) {
        throw new Error(`${where}: division by constant 0`);
      }
      return;
    }
    throw new Error(`${where}: not allowed in a seccomp filter`);
  });
  const last = insns[insns.length - 1].code;
  if (last !== (B.BPF_RET | B.BPF_K) && last !== (B.BPF_RET | B.BPF_A)) {
    throw new Error('program does not end with a return');
  }
}

/** Read a 32-bit word of struct seccomp_data (little-endian layout). */
function loadWord(data: SeccompData, off: number): number {
  if (off === B.SECCOMP_DATA_NR) return data.nr >>> 0;
  if (off === B.SECCOMP_DATA_ARCH) return data.arch >>> 0;
  const word = (v: bigint, high: boolean) => Number((high ? v >> 32n : v) & 0xffffffffn);
  if (off < B.SECCOMP_DATA_ARGS) return word(data.instructionPointer ?? 0n, off === B.SECCOMP_DATA_IP + 4);
  const index = (off - B.SECCOMP_DATA_ARGS) >> 3;
  return word(BigInt.asUintN(64, data.args?.[index] ?? 0n), (off - B.SECCOMP_DATA_ARGS) % 8 === 4);
}

/** Run the program over one syscall; returns the 32-bit SECCOMP_RET_* value. */
export function runFilter(insns: readonly B.SockFilter[], data: SeccompData): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(B.BPF_MEMWORDS);
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc];
    const cls = code & 0x07;
    if (cls === B.BPF_JMP) {
      const op = code & 0xf0;
      if (op === B.BPF_JA) {
        pc += k;
        continue;
      }
      const operand = (code & B.BPF_X ? x : k) >>> 0;
      let taken: boolean;
      if (op === B.BPF_JEQ) taken = a === operand;
      else if (op === B.BPF_JGT) taken = a > operand;
      else if (op === B.BPF_JGE) taken = a >= operand;
      else if (op === B.BPF_JSET) taken = (a & operand) !== 0;
      else throw new Error(`instruction ${pc}: unknown jump 0x${code.toString(16)}`);
      pc += taken ? jt : jf;
      continue;
    }
    if (cls === B.BPF_ALU) {
      const op = code & 0xf0;
      const v = (code & B.BPF_X ? x : k) >>> 0;
      switch (op) {
        case B.BPF_ADD: a = (a + v) >>> 0; break;
        case B.BPF_SUB: a = (a - v) >>> 0; break;
        case B.BPF_MUL: a = Math.imul(a, v) >>> 0; break;
        case B.BPF_DIV: if (v === 0) return 0; a = Math.floor(a / v) >>> 0; break;
        case B.BPF_MOD: if (v === 0) return 0; a = (a % v) >>> 0; break;
        case B.BPF_OR: a = (a | v) >>> 0; break;
        case B.BPF_AND: a = (a & v) >>> 0; break;
        case B.BPF_XOR: a = (a ^ v) >>> 0; break;
        case B.BPF_LSH: a = v >= 32 ? 0 : (a << v) >>> 0; break;
        case B.BPF_RSH: a = v >= 32 ? 0 : a >>> v; break;
        case B.BPF_NEG: a = -a >>> 0; break;
        default: throw new Error(`instruction ${pc}: unknown ALU op 0x${code.toString(16)}`);
      }
      continue;
    }
    switch (code) {
      case B.BPF_LD | B.BPF_W | B.BPF_ABS: a = loadWord(data, k); break;
      case B.BPF_LD | B.BPF_W | B.BPF_LEN: a = B.SECCOMP_DATA_SIZE; break;
      case B.BPF_LDX | B.BPF_W | B.BPF_LEN: x = B.SECCOMP_DATA_SIZE; break;
      case B.BPF_LD | B.BPF_IMM: a = k >>> 0; break;
      case B.BPF_LDX | B.BPF_IMM: x = k >>> 0; break;
      case B.BPF_LD | B.BPF_MEM: a = mem[k]; break;
      case B.BPF_LDX | B.BPF_MEM: x = mem[k]; break;
      case B.BPF_ST: mem[k] = a; break;
      case B.BPF_STX: mem[k] = x; break;
      case B.BPF_MISC | B.BPF_TAX: x = a; break;
      case B.BPF_MISC | B.BPF_TXA: a = x; break;
      case B.BPF_RET | B.BPF_K: return k >>> 0;
      case B.BPF_RET | B.BPF_A: return a >>> 0;
      default: throw new Error(`instruction ${pc}: unsupported opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error('program ran off its end without returning');
}

/** The kernel's view of a return value: the action bits and the 16-bit data. */
export function describeReturn(ret: number): { action: string; data: number } {
  const full = (ret & B.SECCOMP_RET_ACTION_FULL) >>> 0;
  const names: Record<number, string> = {
    [B.SECCOMP_RET_KILL_PROCESS]: 'KILL_PROCESS',
    [B.SECCOMP_RET_KILL_THREAD]: 'KILL_THREAD',
    [B.SECCOMP_RET_TRAP]: 'TRAP',
    [B.SECCOMP_RET_ERRNO]: 'ERRNO',
    [B.SECCOMP_RET_USER_NOTIF]: 'USER_NOTIF',
    [B.SECCOMP_RET_TRACE]: 'TRACE',
    [B.SECCOMP_RET_LOG]: 'LOG',
    [B.SECCOMP_RET_ALLOW]: 'ALLOW',
  };
  // Unknown action values behave as KILL_PROCESS in the kernel.
  return { action: names[full] ?? 'KILL_PROCESS', data: ret & B.SECCOMP_RET_DATA };
}
