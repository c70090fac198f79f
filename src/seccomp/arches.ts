/**
 * The seccomp architectures of the OCI spec (libseccomp's SCMP_ARCH_* names).
 * Only the three x86 ABIs can ever reach a filter on an x86_64 kernel; the
 * others are recognised so a multi-arch profile (Docker's lists aarch64 and
 * arm on arm hosts) is accepted, and left out of the filter: the kernel never
 * reports their AUDIT_ARCH here, so omitting them changes nothing.
 */
import * as B from './bpf';
import { I386_SYSCALLS, X32_SYSCALLS, X86_64_SYSCALLS } from './syscall-tables';

export type SupportedArch = 'x86_64' | 'x86' | 'x32';

export interface ArchInfo {
  arch: SupportedArch;
  ociName: string;
  auditArch: number;
  /** Arguments are compared on their low 32 bits only (libseccomp's 32-bit ABIs). */
  args32: boolean;
  syscalls: Readonly<Record<string, number>>;
  /** The same table as a Map: lookups run thousands of times per compile. */
  byName: ReadonlyMap<string, number>;
}

function arch(info: Omit<ArchInfo, 'byName'>): ArchInfo {
  return { ...info, byName: new Map(Object.entries(info.syscalls)) };
}

export const ARCHES: Readonly<Record<SupportedArch, ArchInfo>> = {
  x86_64: arch({ arch: 'x86_64', ociName: 'SCMP_ARCH_X86_64', auditArch: B.AUDIT_ARCH_X86_64, args32: false, syscalls: X86_64_SYSCALLS }),
  x86: arch({ arch: 'x86', ociName: 'SCMP_ARCH_X86', auditArch: B.AUDIT_ARCH_I386, args32: true, syscalls: I386_SYSCALLS }),
  x32: arch({ arch: 'x32', ociName: 'SCMP_ARCH_X32', auditArch: B.AUDIT_ARCH_X86_64, args32: true, syscalls: X32_SYSCALLS }),
};

const BY_OCI_NAME: ReadonlyMap<string, SupportedArch> = new Map(
  Object.values(ARCHES).map((a) => [a.ociName, a.arch] as const),
);

/** Architectures libseccomp knows that cannot run on an x86_64 kernel. */
export const FOREIGN_ARCHES: readonly string[] = [
  'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

/** Every architecture name accepted in linux.seccomp.architectures (for `features`). */
export const KNOWN_ARCHITECTURES: readonly string[] = [...BY_OCI_NAME.keys(), ...FOREIGN_ARCHES];

/** 'x86_64' for SCMP_ARCH_X86_64, 'foreign' for an arch that cannot run here, undefined if unknown. */
export function classifyArch(ociName: string): SupportedArch | 'foreign' | undefined {
  const arch = BY_OCI_NAME.get(ociName);
  if (arch) return arch;
  return FOREIGN_ARCHES.includes(ociName) ? 'foreign' : undefined;
}

/** The syscall's number on this ABI, or undefined if the ABI has no such syscall. */
export function syscallNumber(arch: ArchInfo, name: string): number | undefined {
  return arch.byName.get(name);
}
