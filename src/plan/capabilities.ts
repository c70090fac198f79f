/**
 * Capability names ↔ bit numbers (linux/capability.h), and the five masks the
 * CAPS op takes. Pure data: validation uses the names, the planner the bits.
 */
import type { LinuxCapabilities } from '../oci/spec';

/** Index = capability number. CAP_CHECKPOINT_RESTORE (40) is the last one Linux 6.x defines. */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID',
  'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

export const CAP_LAST_KNOWN = CAPABILITY_NAMES.length - 1;

const BY_NAME = new Map(CAPABILITY_NAMES.map((name, bit) => [name, bit]));

/** Bit number of a capability name ("CAP_SYS_ADMIN" → 21), or undefined when unknown. */
export function capabilityBit(name: string): number | undefined {
  return BY_NAME.get(name);
}

export function capabilityName(bit: number): string | undefined {
  return CAPABILITY_NAMES[bit];
}

export const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
export type CapabilitySet = (typeof CAPABILITY_SETS)[number];

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/**
 * The masks for the CAPS op. Names the running kernel does not know
 * (bit > capLastCap) are left out, as runc does with a warning: an engine
 * written for a newer kernel must still start containers on an older one.
 * Unknown names were already refused by validateSpec; they are skipped here.
 * A missing `capabilities` object means no capabilities at all.
 */
export function capabilityMasks(caps: LinuxCapabilities | undefined, capLastCap: number): CapabilityMasks {
  const mask = (names: string[] | undefined): bigint => {
    let m = 0n;
    for (const name of names ?? []) {
      const bit = BY_NAME.get(name);
      if (bit !== undefined && bit <= capLastCap) m |= 1n << BigInt(bit);
    }
    return m;
  };
  return {
    bounding: mask(caps?.bounding),
    effective: mask(caps?.effective),
    permitted: mask(caps?.permitted),
    inheritable: mask(caps?.inheritable),
    ambient: mask(caps?.ambient),
  };
}

/** Names in a set that this kernel lacks (for a warning). */
export function unavailableCapabilities(caps: LinuxCapabilities | undefined, capLastCap: number): string[] {
  const out = new Set<string>();
  for (const set of CAPABILITY_SETS) {
    for (const name of caps?.[set] ?? []) {
      const bit = BY_NAME.get(name);
      if (bit !== undefined && bit > capLastCap) out.add(name);
    }
  }
  return [...out];
}
