/**
 * Validation and normalisation of an OCI `linux.seccomp` object into what the
 * code generator needs: SECCOMP_RET_* values instead of action names, 64-bit
 * bigint comparisons, filter flags. Every error names the offending field.
 * Semantics follow runc (which drives libseccomp) — see README.md beside this file.
 */
import { CartonError } from '../common/errors';
import type { LinuxSeccomp, SeccompAction, SeccompOperator } from '../oci/spec';
import * as B from './bpf';
import { classifyArch, type SupportedArch } from './arches';

export type CompareOp = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';

export interface Condition {
  index: number;
  op: CompareOp;
  /** The comparison operand; for MASKED_EQ the expected value, already masked. */
  value: bigint;
  /** All ones except for MASKED_EQ. */
  mask: bigint;
}

export interface Rule {
  /** Where the rule came from, for messages. */
  field: string;
  names: readonly string[];
  ret: number;
  /** ANDed conditions; several entries here are alternatives (ORed). */
  alternatives: Condition[][];
}

export interface NormalizedProfile {
  defaultRet: number;
  /** Architectures listed in the profile that exist on x86 (deduplicated, in order). */
  listedArches: SupportedArch[];
  /** Listed architectures that cannot run on this kernel and were left out. */
  skippedArches: string[];
  rules: Rule[];
  flags: number;
  needsListener: boolean;
  /** Give ENOSYS to syscalls above the highest one the profile names (runc's -ENOSYS stub). */
  enosysStub: boolean;
}

export const ACTIONS: readonly SeccompAction[] = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];

export const OPERATORS: readonly SeccompOperator[] = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
];

const FLAG_BITS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: B.SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: B.SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: B.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: B.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};
export const FLAGS: readonly string[] = Object.keys(FLAG_BITS);

const ENOSYS = 38;
/** runc's errno for SCMP_ACT_ERRNO and SCMP_ACT_TRACE when errnoRet is unset. */
const EPERM = 1;
const U64_MAX = (1n << 64n) - 1n;
const ALL_ONES = U64_MAX;

function invalid(field: string, reason: string): CartonError {
  return new CartonError('EINVAL_CONFIG', `${field}: ${reason}`);
}

function actionRet(action: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  const data = (): number => {
    if (errnoRet === undefined || errnoRet === null) return EPERM;
    if (typeof errnoRet !== 'number' || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > B.SECCOMP_RET_DATA) {
      throw invalid(errnoField, `${JSON.stringify(errnoRet)} is not an errno (0-65535)`);
    }
    return errnoRet;
  };
  switch (action) {
    case 'SCMP_ACT_ALLOW': return B.SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_ERRNO': return (B.SECCOMP_RET_ERRNO | data()) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return B.SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS': return B.SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP': return B.SECCOMP_RET_TRAP;
    case 'SCMP_ACT_TRACE': return (B.SECCOMP_RET_TRACE | data()) >>> 0;
    case 'SCMP_ACT_LOG': return B.SECCOMP_RET_LOG;
    case 'SCMP_ACT_NOTIFY': return B.SECCOMP_RET_USER_NOTIF;
    default: throw invalid(field, `unknown action ${JSON.stringify(action)}`);
  }
}

/** JSON gives numbers; values past 2^53 arrive rounded, and 2^64-1 rounds up to 2^64. */
function u64(value: unknown, field: string): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(value)) v = BigInt(value);
  else throw invalid(field, `${JSON.stringify(value)} is not an unsigned 64-bit integer`);
  if (v === 1n << 64n) v = U64_MAX;
  if (v < 0n || v > U64_MAX) throw invalid(field, `${v} is out of the unsigned 64-bit range`);
  return v;
}

function condition(arg: unknown, field: string): Condition {
  if (typeof arg !== 'object' || arg === null) throw invalid(field, 'must be an object');
  const a = arg as Record<string, unknown>;
  if (typeof a.index !== 'number' || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
    throw invalid(`${field}.index`, `${JSON.stringify(a.index)} is not a syscall argument index (0-5)`);
  }
  if (typeof a.op !== 'string' || !(OPERATORS as readonly string[]).includes(a.op)) {
    throw invalid(`${field}.op`, `unknown operator ${JSON.stringify(a.op)}`);
  }
  const op = a.op.slice('SCMP_CMP_'.length) as CompareOp;
  const value = u64(a.value ?? 0, `${field}.value`);
  if (op === 'MASKED_EQ') {
    // OCI (like libseccomp's datum_a/datum_b): value is the mask, valueTwo what the masked argument must equal.
    const expected = u64(a.valueTwo ?? 0, `${field}.valueTwo`);
    return { index: a.index, op, value: expected & value, mask: value };
  }
  return { index: a.index, op, value, mask: ALL_ONES };
}

function ruleOf(entry: unknown, i: number): Rule {
  const field = `linux.seccomp.syscalls[${i}]`;
  if (typeof entry !== 'object' || entry === null) throw invalid(field, 'must be an object');
  const s = entry as Record<string, unknown>;
  if (!Array.isArray(s.names) || s.names.some((n) => typeof n !== 'string' || n === '')) {
    throw invalid(`${field}.names`, 'must be a list of syscall names');
  }
  const ret = actionRet(s.action, s.errnoRet, `${field}.action`, `${field}.errnoRet`);
  if (s.args !== undefined && s.args !== null && !Array.isArray(s.args)) throw invalid(`${field}.args`, 'must be a list');
  const conds = ((s.args as unknown[] | undefined) ?? []).map((a, j) => condition(a, `${field}.args[${j}]`));
  // runc: when two conditions test the same argument, each becomes a rule of its own (OR),
  // because libseccomp cannot AND two comparisons of one argument.
  const indexes = conds.map((c) => c.index);
  const repeated = new Set(indexes).size !== indexes.length;
  const alternatives = repeated ? conds.map((c) => [c]) : [conds];
  return { field, names: s.names as string[], ret, alternatives };
}

export function normalizeProfile(seccomp: LinuxSeccomp): NormalizedProfile {
  if (typeof seccomp !== 'object' || seccomp === null) throw invalid('linux.seccomp', 'must be an object');
  const defaultRet = actionRet(seccomp.defaultAction, seccomp.defaultErrnoRet, 'linux.seccomp.defaultAction', 'linux.seccomp.defaultErrnoRet');
  if (defaultRet === B.SECCOMP_RET_USER_NOTIF) {
    // The listener fd is handed over after the filter is loaded; a default NOTIFY would block that hand-over (runc refuses it too).
    throw invalid('linux.seccomp.defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action');
  }

  const listedArches: SupportedArch[] = [];
  const skippedArches: string[] = [];
  const archList = seccomp.architectures ?? [];
  if (!Array.isArray(archList)) throw invalid('linux.seccomp.architectures', 'must be a list');
  archList.forEach((name, i) => {
    const kind = typeof name === 'string' ? classifyArch(name) : undefined;
    if (kind === undefined) throw invalid(`linux.seccomp.architectures[${i}]`, `unknown architecture ${JSON.stringify(name)}`);
    if (kind === 'foreign') skippedArches.push(name);
    else if (!listedArches.includes(kind)) listedArches.push(kind);
  });

  const syscalls = seccomp.syscalls ?? [];
  if (!Array.isArray(syscalls)) throw invalid('linux.seccomp.syscalls', 'must be a list');
  const rules = syscalls.map((s, i) => ruleOf(s, i));

  const notifyRule = rules.find((r) => r.ret === B.SECCOMP_RET_USER_NOTIF);
  const needsListener = notifyRule !== undefined;
  if (notifyRule && !seccomp.listenerPath) {
    throw invalid(`${notifyRule.field}.action`, 'SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath (the seccomp agent socket)');
  }

  let flags = 0;
  const flagList = seccomp.flags ?? [];
  if (!Array.isArray(flagList)) throw invalid('linux.seccomp.flags', 'must be a list');
  flagList.forEach((flag, i) => {
    const bit = typeof flag === 'string' && Object.prototype.hasOwnProperty.call(FLAG_BITS, flag) ? FLAG_BITS[flag] : undefined;
    if (bit === undefined) throw invalid(`linux.seccomp.flags[${i}]`, `unknown flag ${JSON.stringify(flag)}`);
    if (bit === B.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !needsListener) {
      throw invalid(`linux.seccomp.flags[${i}]`, `${flag} needs a SCMP_ACT_NOTIFY rule (the kernel only accepts it with a listener)`);
    }
    flags |= bit;
  });
  if (needsListener) {
    flags |= B.SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless a failed sync may report ESRCH instead of a thread id.
    if (flags & B.SECCOMP_FILTER_FLAG_TSYNC) flags |= B.SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }

  const permissive = defaultRet === B.SECCOMP_RET_ALLOW || defaultRet === B.SECCOMP_RET_LOG ||
    (defaultRet & B.SECCOMP_RET_ACTION_FULL) >>> 0 === B.SECCOMP_RET_TRACE;
  const enosysStub = !permissive && defaultRet !== ((B.SECCOMP_RET_ERRNO | ENOSYS) >>> 0);

  return { defaultRet, listedArches, skippedArches, rules, flags, needsListener, enosysStub };
}
