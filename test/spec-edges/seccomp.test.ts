/**
 * linux.seccomp on the real kernel (issue 3 §1): what each action does to a raw syscall made by
 * carton-probe (test/hostile/probes), errnoRet and defaultErrnoRet, 64-bit argument values
 * compared in both halves, and ENOSYS for syscalls newer than the profile. The BPF itself is
 * unit-tested through the interpreter in src/seccomp; this is the end-to-end half.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LinuxSeccomp } from '../../src/oci/spec';
import { Lab } from '../hostile/lab';

let lab: Lab;
before(() => {
  lab = new Lab('seccomp');
});
after(() => lab.cleanup());

/** Run a shell line in a container from Docker's own config.json, its seccomp adjusted by `seccomp`. */
function runWith(label: string, script: string, seccomp: (s: LinuxSeccomp) => LinuxSeccomp): string[] {
  const b = lab.bundle('docker', label, ['sh', '-c', script], (spec) => {
    spec.linux!.seccomp = seccomp(spec.linux!.seccomp!);
  });
  const r = lab.runtime(['run', '--bundle', b.dir, b.id]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r.stdout.trim().split('\n');
}

const probe = (nr: number, ...args: string[]): string => `/bin/carton-probe syscall ${nr} ${args.join(' ')}`;

describe('Docker\'s default profile as Docker sends it', () => {
  test('personality: 8 and 0xffffffff allowed, 0x100000008 refused (the high half is compared too)', () => {
    const out = runWith('sc-64bit', [probe(135, '8'), probe(135, '0xffffffff'), probe(135, '0x100000008'), probe(135, '0x200000000')].join('; '), (s) => s);
    assert.deepEqual(out, ['syscall-135 ok', 'syscall-135 ok', 'syscall-135 errno=EPERM', 'syscall-135 errno=EPERM']);
  });

  test('a syscall newer than the profile (cachestat, 451) gets ENOSYS; an older unlisted one (kexec_load) the default errno', () => {
    const out = runWith('sc-enosys', [probe(451), probe(246), probe(1000)].join('; '), (s) => s);
    assert.deepEqual(out, ['syscall-451 errno=ENOSYS', 'syscall-246 errno=EPERM', 'syscall-1000 errno=ENOSYS']);
  });

  test('defaultErrnoRet replaces EPERM for the default action only; ENOSYS and explicit errnoRet stay', () => {
    // clone3 has its own rule in Docker's profile (ERRNO 38 = ENOSYS).
    const out = runWith('sc-default-errno', [probe(246), probe(451), probe(435)].join('; '), (s) => ({ ...s, defaultErrnoRet: 13 }));
    assert.deepEqual(out, ['syscall-246 errno=EACCES', 'syscall-451 errno=ENOSYS', 'syscall-435 errno=ENOSYS']);
  });
});

describe('every action, on a raw syscall', () => {
  test('ERRNO (with and without errnoRet), TRACE without a tracer, LOG, KILL, KILL_THREAD, KILL_PROCESS, TRAP', () => {
    // Syscalls busybox sh never makes: acct, vhangup, syslog, setdomainname, iopl, ioperm, sethostname.
    const script = [
      probe(163), // acct: ERRNO errnoRet 13
      probe(153), // vhangup: ERRNO, EPERM by default
      probe(103, '0', '0', '0'), // syslog: TRACE, no tracer attached → ENOSYS
      probe(39), // getpid: LOG, allowed
      `${probe(171)}; echo kill=$?`,
      `${probe(173)}; echo kill-thread=$?`,
      `${probe(172)}; echo kill-process=$?`,
      `${probe(170)}; echo trap=$?`,
      'echo shell-still-here',
    ].join('; ');
    const out = runWith('sc-actions', script, () => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['acct'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['vhangup'], action: 'SCMP_ACT_ERRNO' },
        { names: ['syslog'], action: 'SCMP_ACT_TRACE' },
        { names: ['getpid'], action: 'SCMP_ACT_LOG' },
        { names: ['setdomainname'], action: 'SCMP_ACT_KILL' },
        { names: ['ioperm'], action: 'SCMP_ACT_KILL_THREAD' },
        { names: ['iopl'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['sethostname'], action: 'SCMP_ACT_TRAP' },
      ],
    }));
    // 159 = 128 + SIGSYS: the probe died of the filter before it could print anything.
    assert.deepEqual(out, [
      'syscall-163 errno=EACCES',
      'syscall-153 errno=EPERM',
      'syscall-103 errno=ENOSYS',
      'syscall-39 ok',
      'kill=159',
      'kill-thread=159',
      'kill-process=159',
      'trap=159',
      'shell-still-here',
    ]);
  });

  test('argument operators on a live syscall: MASKED_EQ and GT on a 64-bit value', () => {
    const out = runWith('sc-ops', [probe(135, '0x100000000'), probe(135, '0xffffffff'), probe(163, '0x1234'), probe(163, '0x1200')].join('; '), () => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        // Above 2^32 - 1: only the high half can tell.
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_GT' }] },
        // acct(path) with a pointer whose low byte is 0x34.
        { names: ['acct'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [{ index: 0, value: 0xff, valueTwo: 0x34, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    }));
    // personality(0xffffffff) is the query (ok); acct(0x1200) reaches the kernel, which refuses it
    // for want of CAP_SYS_PACCT (EPERM), not the filter's E2BIG.
    assert.deepEqual(out, ['syscall-135 errno=EINVAL', 'syscall-135 ok', 'syscall-163 errno=E2BIG', 'syscall-163 errno=EPERM']);
  });
});
