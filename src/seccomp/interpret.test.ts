import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as B from './bpf';
import { Assembler } from './asm';
import { describeReturn, runFilter, verify } from './interpret';

const ins = (code: number, k = 0, jt = 0, jf = 0): B.SockFilter => ({ code, jt, jf, k });
const LD = B.BPF_LD | B.BPF_W | B.BPF_ABS;
const RET = B.BPF_RET | B.BPF_K;
const JEQ = B.BPF_JMP | B.BPF_JEQ | B.BPF_K;

test('loads nr, arch and both halves of a 64-bit argument', () => {
  const data = { nr: 7, arch: B.AUDIT_ARCH_I386, args: [0n, 0x1234567890abcdefn], instructionPointer: 0xdeadbeef00000001n };
  const load = (off: number) => runFilter([ins(LD, off), ins(B.BPF_RET | B.BPF_A)], data);
  assert.equal(load(B.SECCOMP_DATA_NR), 7);
  assert.equal(load(B.SECCOMP_DATA_ARCH), B.AUDIT_ARCH_I386);
  assert.equal(load(B.SECCOMP_DATA_ARGS + 8), 0x90abcdef);
  assert.equal(load(B.SECCOMP_DATA_ARGS + 12), 0x12345678);
  assert.equal(load(B.SECCOMP_DATA_IP), 1);
  assert.equal(load(B.SECCOMP_DATA_IP + 4), 0xdeadbeef);
  // negative syscall numbers are seen as u32, like the kernel's "A = nr"
  assert.equal(runFilter([ins(LD, 0), ins(B.BPF_RET | B.BPF_A)], { nr: -1, arch: 0 }), 0xffffffff);
});

test('conditional jumps take jt/jf and ALU and scratch memory work', () => {
  const prog = [
    ins(LD, 0),
    ins(JEQ, 5, 0, 2),
    ins(B.BPF_ALU | B.BPF_AND | B.BPF_K, 4),
    ins(B.BPF_RET | B.BPF_A),
    ins(B.BPF_ST, 3),
    ins(B.BPF_LDX | B.BPF_MEM, 3),
    ins(B.BPF_MISC | B.BPF_TXA),
    ins(B.BPF_ALU | B.BPF_ADD | B.BPF_K, 100),
    ins(B.BPF_RET | B.BPF_A),
  ];
  verify(prog);
  assert.equal(runFilter(prog, { nr: 5, arch: 0 }), 4);
  assert.equal(runFilter(prog, { nr: 9, arch: 0 }), 109);
});

test('jset and jgt/jge are unsigned 32-bit comparisons', () => {
  const prog = (op: number, k: number) => [ins(LD, 0), ins(B.BPF_JMP | op | B.BPF_K, k, 0, 1), ins(RET, 1), ins(RET, 0)];
  assert.equal(runFilter(prog(B.BPF_JGT, 0x7fffffff), { nr: -1, arch: 0 }), 1);
  assert.equal(runFilter(prog(B.BPF_JGE, 5), { nr: 5, arch: 0 }), 1);
  assert.equal(runFilter(prog(B.BPF_JGT, 5), { nr: 5, arch: 0 }), 0);
  assert.equal(runFilter(prog(B.BPF_JSET, B.X32_SYSCALL_BIT), { nr: B.X32_SYSCALL_BIT + 3, arch: 0 }), 1);
  assert.equal(runFilter(prog(B.BPF_JSET, B.X32_SYSCALL_BIT), { nr: 3, arch: 0 }), 0);
});

test('verify refuses what the kernel refuses', () => {
  assert.throws(() => verify([]), /instructions/);
  assert.throws(() => verify([ins(LD, 64), ins(RET)]), /outside seccomp_data/);
  assert.throws(() => verify([ins(LD, 2), ins(RET)]), /outside seccomp_data/);
  assert.throws(() => verify([ins(LD, 0)]), /does not end with a return/);
  assert.throws(() => verify([ins(JEQ, 0, 5, 0), ins(RET)]), /past the end/);
  assert.throws(() => verify([ins(B.BPF_LD | B.BPF_W | 0x40, 0), ins(RET)]), /not allowed/); // BPF_IND
  assert.throws(() => verify([ins(B.BPF_ALU | B.BPF_DIV | B.BPF_K, 0), ins(RET)]), /division/);
  assert.throws(() => verify(new Array(B.BPF_MAXINSNS + 1).fill(ins(RET))), /instructions/);
});

test('sock_filter encoding round-trips, 8 little-endian bytes each', () => {
  const prog = [ins(JEQ, 0xc000003e, 3, 250), ins(RET, B.SECCOMP_RET_ALLOW)];
  const bytes = B.encodeProgram(prog);
  assert.equal(bytes.length, 16);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x15, 0x00, 3, 250, 0x3e, 0x00, 0x00, 0xc0]);
  assert.deepEqual(B.decodeProgram(bytes), prog);
});

test('return values decode into action and data', () => {
  assert.deepEqual(describeReturn(B.SECCOMP_RET_ERRNO | 38), { action: 'ERRNO', data: 38 });
  assert.deepEqual(describeReturn(B.SECCOMP_RET_KILL_PROCESS), { action: 'KILL_PROCESS', data: 0 });
  assert.deepEqual(describeReturn(B.SECCOMP_RET_TRACE | 7), { action: 'TRACE', data: 7 });
});

test('assembler turns out-of-range conditional jumps into ja hops', () => {
  const asm = new Assembler();
  const far = asm.newLabel();
  const near = asm.newLabel();
  asm.loadAbs(0);
  asm.branch(B.BPF_JEQ, 1, far, near);
  asm.place(near);
  for (let i = 0; i < 600; i++) asm.ret(i + 1000);
  asm.place(far);
  asm.ret(42);
  const prog = asm.finish();
  verify(prog);
  assert.equal(prog.length, 604); // load, jeq, one ja hop, 600 + 1 returns
  assert.equal(runFilter(prog, { nr: 1, arch: 0 }), 42);
  assert.equal(runFilter(prog, { nr: 2, arch: 0 }), 1000);
  for (const insn of prog) assert.ok(insn.jt <= 255 && insn.jf <= 255);
});
