/**
 * Code generation: normalised profile → classic BPF.
 *
 *   load arch; AUDIT_ARCH_X86_64 → tree A, AUDIT_ARCH_I386 → tree B, else bad-arch action
 *   tree: load nr; binary search over ranges of syscall numbers that share an outcome
 *   leaves: a return, or a syscall's argument rules (first matching rule wins)
 *
 * x86_64 and x32 share AUDIT_ARCH_X86_64 and one tree: x32 numbers carry the
 * 0x40000000 bit, so they sort into their own ranges. Ranges are what keeps
 * Docker's ~350-name profile small: consecutive allowed syscalls collapse.
 */
import * as B from './bpf';
import { Assembler, type Label } from './asm';
import { ARCHES, type ArchInfo, type SupportedArch } from './arches';
import type { Condition, NormalizedProfile } from './profile';

/** libseccomp's default for a syscall from an architecture not in the filter (runc keeps it). */
export const BAD_ARCH_RET = B.SECCOMP_RET_KILL_THREAD;
const RET_ENOSYS = (B.SECCOMP_RET_ERRNO | 38) >>> 0;
const U32 = 0xffffffffn;

/** What one syscall number does on one ABI. */
interface SyscallPlan {
  /** Set when an unconditional rule decides the syscall. */
  ret: number | undefined;
  /** Argument rules in profile order: the first whose conditions all hold decides. */
  chains: { ret: number; conds: readonly Condition[] }[];
}

/** A rule's alternatives with the always-true comparisons of one argument width removed. */
type Alternatives = readonly (readonly Condition[])[];
const UNCONDITIONAL: Alternatives = [[]];

function withoutTautologies(alternatives: Condition[][], args32: boolean): Alternatives {
  if (alternatives.length === 1 && alternatives[0].length === 0) return UNCONDITIONAL;
  return alternatives.map((conds) => conds.filter((c) => !isTautology(c, args32)));
}

/**
 * Per-ABI syscall plans, applying the rule-merging semantics of runc + libseccomp,
 * and the highest syscall number the profile names on the ABI (whatever the
 * rule's action: runc counts them all for its ENOSYS stub).
 */
function planArch(profile: NormalizedProfile, arch: ArchInfo, alts: Alternatives[]): { plans: Map<number, SyscallPlan>; highest: number } {
  const plans = new Map<number, SyscallPlan>();
  let highest = -1;
  // Indexed loops: this runs cold (interpreted) once per container start.
  for (let r = 0; r < profile.rules.length; r++) {
    const rule = profile.rules[r];
    // runc drops rules whose action equals the default (libseccomp would refuse them).
    const dropped = rule.ret === profile.defaultRet;
    const ruleAlts = alts[r];
    for (let n = 0; n < rule.names.length; n++) {
      const nr = arch.byName.get(rule.names[n]);
      if (nr === undefined) continue; // unknown on this ABI: skipped, as runc does
      if (nr > highest) highest = nr;
      if (dropped) continue;
      let plan = plans.get(nr);
      if (!plan) plans.set(nr, (plan = { ret: undefined, chains: [] }));
      for (let a = 0; a < ruleAlts.length && plan.ret === undefined; a++) {
        // Once an unconditional rule decides, later rules for the syscall are ignored.
        const conds = ruleAlts[a];
        if (conds.length === 0) {
          // libseccomp: an unconditional rule replaces any argument rules added before it.
          plan.ret = rule.ret;
          plan.chains = [];
        } else {
          plan.chains.push({ ret: rule.ret, conds });
        }
      }
    }
  }
  return { plans, highest };
}

/** A masked comparison with an all-zero mask always holds; libseccomp drops it. */
function isTautology(c: Condition, args32: boolean): boolean {
  return c.op === 'MASKED_EQ' && (args32 ? c.mask & U32 : c.mask) === 0n;
}

/** A run of syscall numbers [start, end] that all return `ret`, or all go to one syscall's argument rules. */
interface Range {
  start: number;
  end: number;
  ret: number;
  chain?: Label;
}

export function generate(profile: NormalizedProfile, nativeArch: SupportedArch): B.SockFilter[] {
  const asm = new Assembler();
  const retLabels = new Map<number, Label>();
  const retLabel = (value: number): Label => {
    let label = retLabels.get(value >>> 0);
    if (label === undefined) retLabels.set(value >>> 0, (label = asm.newLabel()));
    return label;
  };

  // libseccomp always filters for the native ABI, listed or not.
  const inFilter = new Set<SupportedArch>([nativeArch, ...profile.listedArches]);
  const stubbed = new Set<SupportedArch>(profile.enosysStub ? profile.listedArches : []);
  const alts64 = profile.rules.map((r) => withoutTautologies(r.alternatives, false));
  const alts32 = profile.rules.map((r) => withoutTautologies(r.alternatives, true));

  const x86_64Tree = asm.newLabel();
  const i386Tree = asm.newLabel();
  asm.loadAbs(B.SECCOMP_DATA_ARCH);
  const hasX64 = inFilter.has('x86_64') || inFilter.has('x32');
  const hasI386 = inFilter.has('x86');
  if (hasX64 && hasI386) {
    const next = asm.newLabel();
    asm.branch(B.BPF_JEQ, B.AUDIT_ARCH_X86_64, x86_64Tree, next);
    asm.place(next);
    asm.branch(B.BPF_JEQ, B.AUDIT_ARCH_I386, i386Tree, retLabel(BAD_ARCH_RET));
  } else {
    asm.branch(B.BPF_JEQ, hasX64 ? B.AUDIT_ARCH_X86_64 : B.AUDIT_ARCH_I386, hasX64 ? x86_64Tree : i386Tree, retLabel(BAD_ARCH_RET));
  }

  const chains: { label: Label; plan: SyscallPlan; args32: boolean }[] = [];
  const rangesFor = (abis: { arch: SupportedArch; lo: number; hi: number }[]): Range[] => {
    const ranges: Range[] = [];
    const pushRet = (start: number, end: number, ret: number) => {
      const last = ranges[ranges.length - 1];
      if (last && last.chain === undefined && last.ret === ret && last.end + 1 === start) last.end = end;
      else ranges.push({ start, end, ret });
    };
    for (const abi of abis) {
      if (!inFilter.has(abi.arch)) {
        pushRet(abi.lo, abi.hi, BAD_ARCH_RET);
        continue;
      }
      const info = ARCHES[abi.arch];
      const { plans, highest } = planArch(profile, info, info.args32 ? alts32 : alts64);
      const limit = stubbed.has(abi.arch) && highest >= 0 ? highest : abi.hi;
      let cursor = abi.lo;
      // A typed-array sort is numeric and needs no comparator calls.
      for (const nr of Uint32Array.from(plans.keys()).sort()) {
        if (nr < abi.lo || nr > limit) continue;
        if (nr > cursor) pushRet(cursor, nr - 1, profile.defaultRet);
        const plan = plans.get(nr)!;
        if (plan.ret !== undefined) {
          pushRet(nr, nr, plan.ret);
        } else {
          const label = asm.newLabel();
          ranges.push({ start: nr, end: nr, ret: -1, chain: label });
          chains.push({ label, plan, args32: info.args32 });
        }
        cursor = nr + 1;
      }
      if (cursor <= limit) pushRet(cursor, limit, profile.defaultRet);
      if (limit < abi.hi) pushRet(limit + 1, abi.hi, RET_ENOSYS);
    }
    return ranges;
  };
  const target = (r: Range): Label => r.chain ?? retLabel(r.ret);

  if (hasX64) {
    asm.place(x86_64Tree);
    asm.loadAbs(B.SECCOMP_DATA_NR);
    emitSearch(asm, rangesFor([
      { arch: 'x86_64', lo: 0, hi: B.X32_SYSCALL_BIT - 1 },
      { arch: 'x32', lo: B.X32_SYSCALL_BIT, hi: 0xffffffff },
    ]), target);
  }
  if (hasI386) {
    asm.place(i386Tree);
    asm.loadAbs(B.SECCOMP_DATA_NR);
    emitSearch(asm, rangesFor([{ arch: 'x86', lo: 0, hi: 0xffffffff }]), target);
  }
  // A tree label nothing jumps to still has to be placed somewhere.
  if (!hasX64) asm.place(x86_64Tree);
  if (!hasI386) asm.place(i386Tree);

  for (const c of chains) emitChains(asm, c.label, c.plan, c.args32, retLabel, profile.defaultRet);
  // Returns last, shared by every branch that ends in the same action.
  for (const [value, label] of [...retLabels].sort((a, b) => a[0] - b[0])) {
    asm.place(label);
    asm.ret(value);
  }
  return asm.finish();
}

/** Binary search over sorted, contiguous ranges with `jge`; each leaf jumps to its range's target. */
function emitSearch(asm: Assembler, ranges: Range[], target: (r: Range) => Label): void {
  const node = (lo: number, hi: number, label?: Label): void => {
    // ranges[lo..hi] (inclusive), at least two of them
    if (label !== undefined) asm.place(label);
    const mid = (lo + hi + 1) >> 1;
    const left = mid - 1 === lo ? target(ranges[lo]) : asm.newLabel();
    const right = mid === hi ? target(ranges[hi]) : asm.newLabel();
    asm.branch(B.BPF_JGE, ranges[mid].start, right, left);
    if (mid - 1 !== lo) node(lo, mid - 1, left);
    if (mid !== hi) node(mid, hi, right);
  };
  if (ranges.length === 1) asm.jump(target(ranges[0]));
  else node(0, ranges.length - 1);
}

/** One syscall's argument rules; falls back to the default action when none holds. */
function emitChains(
  asm: Assembler,
  entry: Label,
  plan: SyscallPlan,
  args32: boolean,
  retLabel: (value: number) => Label,
  defaultRet: number,
): void {
  asm.place(entry);
  plan.chains.forEach((chain, i) => {
    const last = i === plan.chains.length - 1;
    const fail = last ? retLabel(defaultRet) : asm.newLabel();
    chain.conds.forEach((cond, j) => {
      const ok = j === chain.conds.length - 1 ? retLabel(chain.ret) : asm.newLabel();
      emitCondition(asm, cond, args32, ok, fail);
      if (j !== chain.conds.length - 1) asm.place(ok);
    });
    if (!last) asm.place(fail);
  });
}

/**
 * One 64-bit comparison from 32-bit loads: the high words decide unless they are
 * equal, then the low words do. 32-bit ABIs compare the low word only (libseccomp).
 */
function emitCondition(asm: Assembler, c: Condition, args32: boolean, ok: Label, fail: Label): void {
  const lowOff = B.SECCOMP_DATA_ARGS + 8 * c.index;
  const highOff = lowOff + 4;
  const vHi = Number((c.value >> 32n) & U32);
  const vLo = Number(c.value & U32);
  const mHi = Number((c.mask >> 32n) & U32);
  const mLo = Number(c.mask & U32);

  if (c.op === 'EQ' || c.op === 'NE' || c.op === 'MASKED_EQ') {
    const [match, differ] = c.op === 'NE' ? [fail, ok] : [ok, fail];
    const words: { off: number; v: number; m: number }[] = [];
    if (!args32 && mHi !== 0) words.push({ off: highOff, v: vHi, m: mHi });
    if (mLo !== 0) words.push({ off: lowOff, v: vLo, m: mLo });
    words.forEach((w, i) => {
      const isLast = i === words.length - 1;
      const next = isLast ? match : asm.newLabel();
      asm.loadAbs(w.off);
      if (w.m !== 0xffffffff) asm.andK(w.m);
      asm.branch(B.BPF_JEQ, w.v, next, differ);
      if (!isLast) asm.place(next);
    });
    if (words.length === 0) asm.jump(match); // unreachable: tautologies are dropped before
    return;
  }

  // Ordered comparisons. "above" = argument > value, etc.; pass/fail per outcome:
  const passWhenGreater = c.op === 'GT' || c.op === 'GE';
  const [onGreater, onLess] = passWhenGreater ? [ok, fail] : [fail, ok];
  // On equal high words the low words decide with the strictness of the operator.
  const lowOp = c.op === 'GT' || c.op === 'LE' ? B.BPF_JGT : B.BPF_JGE;
  if (!args32) {
    const checkEq = asm.newLabel();
    const checkLow = asm.newLabel();
    asm.loadAbs(highOff);
    asm.branch(B.BPF_JGT, vHi, onGreater, checkEq);
    asm.place(checkEq);
    asm.branch(B.BPF_JEQ, vHi, checkLow, onLess);
    asm.place(checkLow);
  }
  asm.loadAbs(lowOff);
  // GT/GE pass when the jump is taken; LT/LE (its negation) pass when it is not.
  asm.branch(lowOp, vLo, onGreater, onLess);
}
