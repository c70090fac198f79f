/** Shared by the seccomp unit tests: compile a profile and ask it about one syscall. */
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../oci/spec';
import * as B from './bpf';
import { ARCHES, syscallNumber, type SupportedArch } from './arches';
import { compileSeccomp } from './index';
import { runFilter, verify } from './interpret';

export type Abi = SupportedArch;

export interface Compiled {
  insns: B.SockFilter[];
  flags: number;
  needsListener: boolean;
  skippedArchitectures: string[];
  /** The SECCOMP_RET_* value for a syscall by name or number on one ABI. */
  ret(abi: Abi, syscall: string | number, args?: bigint[]): number;
}

export function compile(profile: LinuxSeccomp): Compiled {
  const out = compileSeccomp(profile);
  const insns = B.decodeProgram(out.program);
  verify(insns);
  return {
    insns,
    flags: out.flags,
    needsListener: out.needsListener,
    skippedArchitectures: out.skippedArchitectures,
    ret(abi, syscall, args = []) {
      const info = ARCHES[abi];
      const nr = typeof syscall === 'number' ? syscall : syscallNumber(info, syscall);
      assert.notEqual(nr, undefined, `${syscall} is not a syscall on ${abi}`);
      return runFilter(insns, { nr: nr!, arch: info.auditArch, args });
    },
  };
}

export const ALLOW = B.SECCOMP_RET_ALLOW;
export const errno = (n: number) => (B.SECCOMP_RET_ERRNO | n) >>> 0;
export const EPERM = errno(1);
export const ENOSYS = errno(38);
