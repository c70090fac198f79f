/** The compiled Docker and Podman profiles, run over many syscalls on all three x86 ABIs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../oci/spec';
import * as B from './bpf';
import { ARCHES, syscallNumber } from './arches';
import { compileSeccomp, dockerDefaultProfile } from './index';
import { runFilter } from './interpret';
import { ALLOW, ENOSYS, EPERM, compile, errno, type Abi } from './compile-harness';

// linux.seccomp of the captured configs in /work/shared/reference (docker-config-run-d.json, podman-config-run-d.json)
import dockerCapture from './testdata/docker-seccomp.json';
import podmanCapture from './testdata/podman-seccomp.json';

const copy = (o: unknown): LinuxSeccomp => JSON.parse(JSON.stringify(o)) as LinuxSeccomp;

const CLONE_NEWNS = 0x00020000n;
const CLONE_NEWUSER = 0x10000000n;
const THREAD_FLAGS = 0x003d0f00n; // what glibc's pthread_create passes

test('dockerDefaultProfile is the captured Docker profile, a fresh copy each call', () => {
  assert.deepEqual(dockerDefaultProfile(), copy(dockerCapture));
  const a = dockerDefaultProfile();
  a.syscalls!.length = 0;
  assert.ok(dockerDefaultProfile().syscalls!.length > 0);
});

test('Docker profile on x86_64: allow list, EPERM default, argument rules, ENOSYS', () => {
  const f = compile(dockerDefaultProfile());
  assert.equal(f.ret('x86_64', 'read'), ALLOW);
  assert.equal(f.ret('x86_64', 'mount'), EPERM);
  assert.equal(f.ret('x86_64', 'kexec_load'), EPERM);
  assert.equal(f.ret('x86_64', 'clone', [THREAD_FLAGS]), ALLOW);
  assert.equal(f.ret('x86_64', 'clone', [THREAD_FLAGS | CLONE_NEWNS]), EPERM);
  assert.equal(f.ret('x86_64', 'clone', [CLONE_NEWUSER]), EPERM);
  // the mask has no high bits, so the high half of the argument is not looked at (libseccomp)
  assert.equal(f.ret('x86_64', 'clone', [0xffffffff00000011n]), ALLOW);
  assert.equal(f.ret('x86_64', 'clone3'), ENOSYS);
  assert.equal(f.ret('x86_64', 'personality', [0n]), ALLOW);
  assert.equal(f.ret('x86_64', 'personality', [8n]), ALLOW);
  assert.equal(f.ret('x86_64', 'personality', [0xffffffffn]), ALLOW);
  assert.equal(f.ret('x86_64', 'personality', [1n]), EPERM);
  assert.equal(f.ret('x86_64', 'personality', [0x1ffffffffn]), EPERM); // 64-bit compare on x86_64
  assert.equal(f.ret('x86_64', 'futex_waitv'), ALLOW); // the highest syscall Docker names
  assert.equal(f.ret('x86_64', 'set_mempolicy_home_node'), ENOSYS); // newer than the profile
  assert.equal(f.ret('x86_64', 'fchmodat2'), ENOSYS);
  assert.equal(f.ret('x86_64', 1000), ENOSYS);
  assert.equal(f.ret('x86_64', B.X32_SYSCALL_BIT - 1), ENOSYS);
  assert.equal(f.ret('x86_64', 'arch_prctl'), ALLOW);
  assert.ok(f.insns.length < 600, `${f.insns.length} instructions`);
});

test('Docker profile on i386 and x32: their own numbering and 32-bit arguments', () => {
  const f = compile(dockerDefaultProfile());
  assert.equal(f.ret('x86', 'read'), ALLOW);
  assert.equal(syscallNumber(ARCHES.x86, 'read'), 3);
  assert.equal(f.ret('x86', 'mount'), EPERM);
  assert.equal(f.ret('x86', 'socketcall'), ALLOW);
  assert.equal(f.ret('x86', '_llseek'), ALLOW);
  assert.equal(f.ret('x86', 'clone', [THREAD_FLAGS]), ALLOW);
  assert.equal(f.ret('x86', 'clone', [CLONE_NEWNS]), EPERM);
  assert.equal(f.ret('x86', 'personality', [0xffffffffn]), ALLOW);
  assert.equal(f.ret('x86', 'personality', [2n]), EPERM);
  assert.equal(f.ret('x86', 'clone3'), ENOSYS);
  assert.equal(f.ret('x86', 999), ENOSYS);
  assert.equal(f.ret('x86', 0xffffffff), ENOSYS);

  assert.equal(f.ret('x32', 'read'), ALLOW);
  assert.equal(syscallNumber(ARCHES.x32, 'read'), B.X32_SYSCALL_BIT);
  assert.equal(f.ret('x32', 'rt_sigaction'), ALLOW); // an x32-only number (512)
  assert.equal(f.ret('x32', 'mount'), EPERM);
  assert.equal(f.ret('x32', 'clone', [CLONE_NEWNS]), EPERM);
  assert.equal(f.ret('x32', 'clone3'), ENOSYS);
  assert.equal(f.ret('x32', B.X32_SYSCALL_BIT + 600), ENOSYS);
  assert.equal(f.ret('x86_64', 0xffffffff), ENOSYS); // nr -1 sorts into the x32 range
});

test('Docker profile: every named syscall on every ABI is allowed, every other one refused', () => {
  const profile = dockerDefaultProfile();
  const f = compile(profile);
  const withArgs = new Set(['clone', 'personality', 'clone3']);
  const allowed = new Set(profile.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  for (const abi of ['x86_64', 'x86', 'x32'] as Abi[]) {
    const table = ARCHES[abi].syscalls;
    const max = Math.max(...[...allowed, ...withArgs].map((n) => table[n] ?? -1).filter((n) => n >= 0));
    for (const [name, nr] of Object.entries(table)) {
      if (withArgs.has(name)) continue;
      const want = allowed.has(name) ? ALLOW : nr > max ? ENOSYS : EPERM;
      assert.equal(f.ret(abi, nr), want, `${abi} ${name} (${nr})`);
    }
  }
});

test('Docker profile: a syscall from any other architecture gets the bad-arch KILL_THREAD', () => {
  const insns = compile(dockerDefaultProfile()).insns;
  const AUDIT_ARCH_AARCH64 = 0xc00000b7;
  assert.equal(runFilter(insns, { nr: 63, arch: AUDIT_ARCH_AARCH64 }), B.SECCOMP_RET_KILL_THREAD);
  assert.equal(runFilter(insns, { nr: 0, arch: 0 }), B.SECCOMP_RET_KILL_THREAD);
});

test('Podman profile: explicit EPERM list, ENOSYS default, i386-only names', () => {
  const profile = copy(podmanCapture);
  assert.equal(profile.defaultErrnoRet, 38);
  const f = compile(profile);
  assert.equal(f.ret('x86_64', 'read'), ALLOW);
  assert.equal(f.ret('x86_64', 'socket'), ALLOW);
  assert.equal(f.ret('x86_64', 'kexec_load'), EPERM);
  assert.equal(f.ret('x86_64', 'open_by_handle_at'), EPERM);
  assert.equal(f.ret('x86_64', 'mount'), ALLOW);
  assert.equal(f.ret('x86_64', 'add_key'), errno(38)); // not named: the default, ENOSYS
  assert.equal(f.ret('x86_64', 1000), errno(38));
  assert.equal(f.ret('x86', '_llseek'), ALLOW);
  assert.equal(f.ret('x86', 'stime'), EPERM);
  assert.equal(f.ret('x86_64', 'personality', [0x20000n]), ALLOW);
  assert.equal(f.ret('x86_64', 'personality', [3n]), errno(38));
  assert.equal(f.ret('x32', 'read'), ALLOW);
});

test('compiling Docker profile is fast enough for every container start', () => {
  const profile = dockerDefaultProfile();
  compileSeccomp(profile); // warm-up
  const runs = 50;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) compileSeccomp(profile);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  // The aim is < 2 ms; the bound is loose because the test machine is shared.
  assert.ok(ms < 10, `${ms.toFixed(2)} ms per compile`);
});
