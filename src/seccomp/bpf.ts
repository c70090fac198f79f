/**
 * Classic BPF as seccomp uses it: opcodes, the seccomp_data layout, the return
 * values, and the 8-byte sock_filter encoding the kernel takes.
 */

export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

export const BPF_W = 0x00;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;

export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;

export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel refuses longer programs (include/uapi/linux/filter.h). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;

/** struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

/** AUDIT_ARCH_* values the kernel reports in seccomp_data.arch. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
/** x32 syscalls arrive with AUDIT_ARCH_X86_64 and this bit set in nr. */
export const X32_SYSCALL_BIT = 0x40000000;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Encode instructions as the kernel's struct sock_filter array (little-endian host). */
export function encodeProgram(insns: readonly SockFilter[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * 8);
  const view = new DataView(bytes.buffer);
  insns.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return bytes;
}

/** Decode struct sock_filter bytes back into instructions. */
export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new Error(`BPF program of ${bytes.length} bytes is not a whole number of instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: SockFilter[] = [];
  for (let off = 0; off < bytes.length; off += 8) {
    insns.push({
      code: view.getUint16(off, true),
      jt: view.getUint8(off + 2),
      jf: view.getUint8(off + 3),
      k: view.getUint32(off + 4, true),
    });
  }
  return insns;
}
