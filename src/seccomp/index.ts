/**
 * The seccomp compiler: OCI `linux.seccomp` → classic BPF bytes for
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). Pure code, no libseccomp;
 * it reproduces what runc builds through libseccomp (see README.md here).
 */
import { CartonError } from '../common/errors';
import type { LinuxSeccomp } from '../oci/spec';
import * as B from './bpf';
import { KNOWN_ARCHITECTURES } from './arches';
import { generate } from './codegen';
import { ACTIONS, FLAGS, OPERATORS, normalizeProfile } from './profile';

export interface CompileOptions {
  /** The host ABI, always part of the filter (only x86_64 hosts are supported). */
  nativeArch?: 'x86_64';
}

export interface CompiledSeccomp {
  /** struct sock_filter[] as bytes, 8 per instruction. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2). */
  flags: number;
  /** A SCMP_ACT_NOTIFY rule exists: load with NEW_LISTENER and send the returned fd to listenerPath. */
  needsListener: boolean;
  /** linux.seccomp.listenerPath/listenerMetadata, passed on when a listener is needed (the planner's PlanSeccomp). */
  listenerPath?: string;
  listenerMetadata?: string;
  /** Listed architectures left out because they cannot run on this kernel (e.g. SCMP_ARCH_AARCH64). */
  skippedArchitectures: string[];
}

export function compileSeccomp(seccomp: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const nativeArch = opts.nativeArch ?? 'x86_64';
  if (nativeArch !== 'x86_64') {
    throw new CartonError('EUNSUPPORTED', `seccomp: native architecture ${JSON.stringify(nativeArch)} is not supported (x86_64 only)`);
  }
  const profile = normalizeProfile(seccomp);
  const insns = generate(profile, nativeArch);
  if (insns.length > B.BPF_MAXINSNS) {
    throw new CartonError(
      'EINVAL_CONFIG',
      `linux.seccomp: the filter needs ${insns.length} BPF instructions, more than the kernel's limit of ${B.BPF_MAXINSNS}`,
      { hint: 'merge rules or drop argument conditions' },
    );
  }
  const compiled: CompiledSeccomp = {
    program: B.encodeProgram(insns),
    flags: profile.flags,
    needsListener: profile.needsListener,
    skippedArchitectures: profile.skippedArches,
  };
  if (profile.needsListener) {
    compiled.listenerPath = seccomp.listenerPath;
    compiled.listenerMetadata = seccomp.listenerMetadata ?? '';
  }
  return compiled;
}

/** What the runtime's `features` command reports under linux.seccomp. */
export const SUPPORTED_ACTIONS: readonly string[] = ACTIONS;
export const SUPPORTED_OPERATORS: readonly string[] = OPERATORS;
export const SUPPORTED_ARCHITECTURES: readonly string[] = KNOWN_ARCHITECTURES;
export const SUPPORTED_FLAGS: readonly string[] = FLAGS;

export { dockerDefaultProfile } from './docker-default';
