/**
 * POSIX rlimit names ↔ resource numbers (asm-generic/resource.h, same on
 * x86_64 and arm64), and conversion of JSON numbers to the u64 the kernel takes.
 */
import type { POSIXRlimit } from '../oci/spec';
import { RLIM_INFINITY } from './ops';

export const RLIMIT_NAMES: readonly string[] = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS',
  'RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
];

const BY_NAME = new Map(RLIMIT_NAMES.map((name, n) => [name, n]));

export function rlimitResource(name: string): number | undefined {
  return BY_NAME.get(name);
}

/**
 * A JSON number as an rlimit value. Engines write RLIM_INFINITY as
 * 18446744073709551615, which JSON.parse rounds up to 2^64: anything at or
 * above 2^64 - 1 is infinity. Values above 2^53 are approximate in JSON
 * anyway; they are truncated, never rounded up past infinity.
 */
export function rlimitValue(n: number): bigint {
  if (!Number.isFinite(n) || n >= 18446744073709551615) return RLIM_INFINITY;
  const v = BigInt(Math.trunc(n));
  return v > RLIM_INFINITY ? RLIM_INFINITY : v;
}

export interface ResolvedRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
  source: string;
}

/** Rlimits ready for SETRLIMIT ops, in config order. Names were checked by validateSpec. */
export function resolveRlimits(rlimits: POSIXRlimit[] | undefined, field = 'process.rlimits'): ResolvedRlimit[] {
  return (rlimits ?? []).map((r, i) => ({
    resource: rlimitResource(r.type) ?? -1,
    soft: rlimitValue(r.soft),
    hard: rlimitValue(r.hard),
    source: `${field}[${i}] (${r.type})`,
  }));
}
