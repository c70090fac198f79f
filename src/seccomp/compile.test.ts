/** Compiler semantics: operators, actions, rule merging, architectures, flags and errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CartonError } from '../common/errors';
import type { LinuxSeccomp, LinuxSyscall, SeccompOperator } from '../oci/spec';
import * as B from './bpf';
import { compileSeccomp } from './index';
import { X86_64_SYSCALLS } from './syscall-tables';
import { ALLOW, ENOSYS, EPERM, compile, errno } from './compile-harness';

const X64 = ['SCMP_ARCH_X86_64'];
const profile = (syscalls: LinuxSyscall[], extra: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: X64,
  syscalls,
  ...extra,
});

const U64 = (1n << 64n) - 1n;
const lo = (v: bigint) => v & 0xffffffffn;

/** What the operator means, on the full 64 bits or (32-bit ABIs) the low word only. */
function oracle(op: SeccompOperator, arg: bigint, value: bigint, valueTwo: bigint, args32: boolean): boolean {
  const a = args32 ? lo(arg) : arg;
  const v = args32 ? lo(value) : value;
  const v2 = args32 ? lo(valueTwo) : valueTwo;
  switch (op) {
    case 'SCMP_CMP_EQ': return a === v;
    case 'SCMP_CMP_NE': return a !== v;
    case 'SCMP_CMP_LT': return a < v;
    case 'SCMP_CMP_LE': return a <= v;
    case 'SCMP_CMP_GT': return a > v;
    case 'SCMP_CMP_GE': return a >= v;
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === (v2 & v);
  }
}

const OPS: SeccompOperator[] = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'];
// Values whose high and low halves differ, and the edges of both halves.
const VALUES = [0n, 1n, 0xffffffffn, 0x100000000n, 0x1_00000002n, 0x2_00000001n, 0xffffffff_00000000n, 0x7fffffff_ffffffffn, U64 - 1n];

function probes(v: bigint): bigint[] {
  const out = new Set<bigint>([0n, U64, v]);
  for (const d of [1n, 0x100000000n, 0xffffffffn]) {
    if (v >= d) out.add(v - d);
    if (v + d <= U64) out.add(v + d);
  }
  return [...out];
}

for (const op of OPS) {
  test(`${op} at the boundaries, 64-bit on x86_64 and low word on i386/x32`, () => {
    for (const value of VALUES) {
      const valueTwo = op === 'SCMP_CMP_MASKED_EQ' ? 0x1_00000001n & value : 0n;
      const f = compile(profile(
        [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 3, op, value: value as unknown as number, valueTwo: valueTwo as unknown as number }] }],
        { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      ));
      for (const arg of probes(value)) {
        const args = [0n, 0n, 0n, arg];
        for (const abi of ['x86_64', 'x86', 'x32'] as const) {
          const want = oracle(op, arg, value, valueTwo, abi !== 'x86_64') ? ALLOW : EPERM;
          assert.equal(f.ret(abi, 'getpid', args), want, `${abi} ${op} arg=${arg.toString(16)} value=${value.toString(16)}`);
        }
      }
    }
  });
}

test('values arrive as JSON numbers: 2^64-1 rounds to 2^64 and still means all ones', () => {
  const f = compile(profile([{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 18446744073709551615 }] }]));
  assert.equal(f.ret('x86_64', 'getpid', [U64]), ALLOW);
  assert.equal(f.ret('x86_64', 'getpid', [U64 - 1n]), EPERM);
});

test('several args in one rule are ANDed, several rules for a syscall are ORed', () => {
  const f = compile(profile([
    { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }, { index: 1, op: 'SCMP_CMP_EQ', value: 9 }] },
    { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 7 }] },
  ]));
  assert.equal(f.ret('x86_64', 'kill', [1n, 9n]), ALLOW);
  assert.equal(f.ret('x86_64', 'kill', [1n, 8n]), EPERM);
  assert.equal(f.ret('x86_64', 'kill', [2n, 9n]), EPERM);
  assert.equal(f.ret('x86_64', 'kill', [7n, 0n]), ALLOW);
});

test('two conditions on the same argument become separate rules (ORed), as runc does', () => {
  const f = compile(profile([{
    names: ['kill'], action: 'SCMP_ACT_ALLOW',
    args: [{ index: 1, op: 'SCMP_CMP_EQ', value: 9 }, { index: 1, op: 'SCMP_CMP_EQ', value: 15 }],
  }]));
  assert.equal(f.ret('x86_64', 'kill', [0n, 9n]), ALLOW);
  assert.equal(f.ret('x86_64', 'kill', [0n, 15n]), ALLOW);
  assert.equal(f.ret('x86_64', 'kill', [0n, 2n]), EPERM);
});

test('conflicting rules: unconditional beats conditional in either order, first unconditional wins', () => {
  const cond = { index: 0, op: 'SCMP_CMP_EQ' as const, value: 1 };
  const before = compile(profile([
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [cond] },
    { names: ['kill'], action: 'SCMP_ACT_ALLOW' },
  ]));
  assert.equal(before.ret('x86_64', 'kill', [1n]), ALLOW);
  const after = compile(profile([
    { names: ['kill'], action: 'SCMP_ACT_ALLOW' },
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [cond] },
    { names: ['kill'], action: 'SCMP_ACT_KILL' },
  ]));
  assert.equal(after.ret('x86_64', 'kill', [1n]), ALLOW);
  assert.equal(after.ret('x86_64', 'kill', [2n]), ALLOW);
  // conditional rules: the first that matches decides
  const chains = compile(profile([
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [cond] },
    { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, op: 'SCMP_CMP_EQ', value: 1 }] },
  ]));
  assert.equal(chains.ret('x86_64', 'kill', [1n, 1n]), errno(5));
  assert.equal(chains.ret('x86_64', 'kill', [0n, 1n]), ALLOW);
  assert.equal(chains.ret('x86_64', 'kill', [0n, 0n]), EPERM);
});

test('a rule with the default action is dropped (runc), so it does not shadow later rules', () => {
  const f = compile(profile([
    { names: ['getpid'], action: 'SCMP_ACT_ERRNO' }, // same as the default ERRNO(EPERM)
    { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
    { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
  ]));
  assert.equal(f.ret('x86_64', 'getpid'), ALLOW);
  assert.equal(f.ret('x86_64', 'getppid'), errno(13));
});

test('each action encodes as SECCOMP_RET_* | data', () => {
  const cases: [LinuxSyscall, number][] = [
    [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }, B.SECCOMP_RET_ALLOW],
    [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }, errno(1)],
    [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 0 }, errno(0)],
    [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 4095 }, errno(4095)],
    [{ names: ['getpid'], action: 'SCMP_ACT_KILL' }, B.SECCOMP_RET_KILL_THREAD],
    [{ names: ['getpid'], action: 'SCMP_ACT_KILL_THREAD' }, B.SECCOMP_RET_KILL_THREAD],
    [{ names: ['getpid'], action: 'SCMP_ACT_KILL_PROCESS' }, B.SECCOMP_RET_KILL_PROCESS],
    [{ names: ['getpid'], action: 'SCMP_ACT_TRAP' }, B.SECCOMP_RET_TRAP],
    [{ names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 9 }, (B.SECCOMP_RET_TRACE | 9) >>> 0],
    [{ names: ['getpid'], action: 'SCMP_ACT_TRACE' }, (B.SECCOMP_RET_TRACE | 1) >>> 0],
    [{ names: ['getpid'], action: 'SCMP_ACT_LOG' }, B.SECCOMP_RET_LOG],
    [{ names: ['getpid'], action: 'SCMP_ACT_NOTIFY' }, B.SECCOMP_RET_USER_NOTIF],
  ];
  for (const [rule, want] of cases) {
    const f = compile(profile([rule], { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' }));
    assert.equal(f.ret('x86_64', 'getpid') >>> 0, want >>> 0, `${rule.action} ${rule.errnoRet}`);
    assert.equal(f.ret('x86_64', 'getppid'), ALLOW);
  }
  const byDefault = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', defaultErrnoRet: 3 });
  assert.equal(byDefault.ret('x86_64', 'getpid') >>> 0, B.SECCOMP_RET_KILL_PROCESS);
  assert.equal(compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 3 }).ret('x86_64', 'read'), errno(3));
});

test('unknown syscall names are skipped, on one ABI or all', () => {
  const f = compile(profile([{ names: ['no_such_syscall', '_llseek', 'getpid'], action: 'SCMP_ACT_ALLOW' }], {
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  }));
  assert.equal(f.ret('x86_64', 'getpid'), ALLOW);
  assert.equal(f.ret('x86', '_llseek'), ALLOW);
  assert.equal(f.ret('x86', 'getpid'), ALLOW);
});

test('architectures: native x86_64 always in, unlisted ABIs killed, foreign ones skipped with a note', () => {
  const none = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(none.ret('x86_64', 'mount'), EPERM);
  assert.equal(none.ret('x86_64', 'read'), ALLOW);
  assert.equal(none.ret('x86', 'read'), B.SECCOMP_RET_KILL_THREAD);
  assert.equal(none.ret('x32', 'read'), B.SECCOMP_RET_KILL_THREAD);
  const onlyI386 = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'] });
  assert.equal(onlyI386.ret('x86_64', 'read'), ALLOW);
  assert.equal(onlyI386.ret('x86', 'read'), ALLOW);
  assert.equal(onlyI386.ret('x32', 'read'), B.SECCOMP_RET_KILL_THREAD);
  const multi = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] });
  assert.deepEqual(multi.skippedArchitectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.throws(
    () => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_FOO'] }),
    (e: unknown) => e instanceof CartonError && e.code === 'EINVAL_CONFIG' &&
      e.message === 'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_FOO"',
  );
});

test('ENOSYS above the highest named syscall: only for non-permissive defaults and listed ABIs (runc)', () => {
  const rules: LinuxSyscall[] = [{ names: ['read', 'clone3'], action: 'SCMP_ACT_ALLOW' }];
  const kill = compile(profile(rules, { defaultAction: 'SCMP_ACT_KILL_PROCESS' }));
  assert.equal(kill.ret('x86_64', 'clone3'), ALLOW);
  assert.equal(kill.ret('x86_64', 'write') >>> 0, B.SECCOMP_RET_KILL_PROCESS);
  assert.equal(kill.ret('x86_64', 436), ENOSYS);
  assert.equal(kill.ret('x86_64', 'set_mempolicy_home_node'), ENOSYS);
  for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) {
    const f = compile(profile([{ names: ['read', 'clone3'], action: 'SCMP_ACT_KILL' }], { defaultAction }));
    assert.notEqual(f.ret('x86_64', 436), ENOSYS, defaultAction);
  }
  const unlisted = compile(profile(rules, { architectures: undefined }));
  assert.equal(unlisted.ret('x86_64', 436), EPERM);
  // rules whose action is the default still count towards the highest named syscall
  const same = compile(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['futex_waitv'], action: 'SCMP_ACT_ERRNO' }]));
  assert.equal(same.ret('x86_64', 'futex_waitv'), EPERM);
  assert.equal(same.ret('x86_64', 'set_mempolicy_home_node'), ENOSYS);
});

test('flags: TSYNC, LOG, SPEC_ALLOW, and NEW_LISTENER for notify', () => {
  const flags = (extra: Partial<LinuxSeccomp>, syscalls: LinuxSyscall[] = []) => compileSeccomp(profile(syscalls, extra));
  assert.equal(flags({}).flags, 0);
  assert.equal(flags({ flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }).flags, 7);
  const notify: LinuxSyscall[] = [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }];
  const withListener = flags({ listenerPath: '/run/agent.sock' }, notify);
  assert.equal(withListener.needsListener, true);
  assert.equal(withListener.flags, B.SECCOMP_FILTER_FLAG_NEW_LISTENER);
  assert.equal(withListener.listenerPath, '/run/agent.sock');
  assert.equal(withListener.listenerMetadata, '');
  assert.equal(flags({ listenerPath: '/a', flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }, notify).flags,
    B.SECCOMP_FILTER_FLAG_TSYNC | B.SECCOMP_FILTER_FLAG_NEW_LISTENER | B.SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
  assert.equal(flags({ listenerPath: '/a', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, notify).flags,
    B.SECCOMP_FILTER_FLAG_NEW_LISTENER | B.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  assert.equal(flags({}).needsListener, false);
});

function rejects(seccomp: LinuxSeccomp, message: string): void {
  assert.throws(() => compileSeccomp(seccomp), (e: unknown) => {
    assert.ok(e instanceof CartonError);
    assert.equal(e.code, 'EINVAL_CONFIG');
    assert.equal(e.message, message);
    return true;
  });
}

test('bad input: errors name the field and the reason', () => {
  const ok: LinuxSyscall = { names: ['read'], action: 'SCMP_ACT_ALLOW' };
  const bad = (s: Record<string, unknown>) => s as unknown as LinuxSyscall;
  rejects(profile([ok, ok, ok, ok, bad({ names: ['x'], action: 'SCMP_ACT_FOO' })]), 'linux.seccomp.syscalls[4].action: unknown action "SCMP_ACT_FOO"');
  rejects({ defaultAction: 'SCMP_ACT_NOPE' as 'SCMP_ACT_ALLOW' }, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"');
  rejects(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' as 'SCMP_CMP_EQ' }] }]),
    'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_FOO"');
  rejects(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }]),
    'linux.seccomp.syscalls[0].args[0].index: 6 is not a syscall argument index (0-5)');
  rejects(profile([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }]),
    'linux.seccomp.syscalls[0].args[0].value: -1 is out of the unsigned 64-bit range');
  rejects(profile([{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }]),
    'linux.seccomp.syscalls[0].errnoRet: 70000 is not an errno (0-65535)');
  rejects(profile([bad({ names: 'read', action: 'SCMP_ACT_ALLOW' })]), 'linux.seccomp.syscalls[0].names: must be a list of syscall names');
  rejects(profile([], { flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_BOGUS'] }), 'linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"');
  rejects(profile([ok, { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]),
    'linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath (the seccomp agent socket)');
  rejects({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }, 'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action');
  rejects(profile([], { flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }),
    'linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule (the kernel only accepts it with a listener)');
});

test('a profile too big for the kernel is refused, a big one still compiles and dispatches right', () => {
  const many = Array.from({ length: 1100 }, (_, i) => ({
    names: ['ioctl'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 1, op: 'SCMP_CMP_EQ' as const, value: i + 0x100000000 }],
  }));
  assert.throws(() => compileSeccomp(profile(many)), /needs \d+ BPF instructions, more than the kernel's limit of 4096/);

  // every x86_64 syscall with its own errno: no two neighbours share an outcome, the worst case for ranges
  const table = Object.entries(X86_64_SYSCALLS);
  const f = compile(profile(table.map(([name, nr]) => ({ names: [name], action: 'SCMP_ACT_ERRNO' as const, errnoRet: 100 + nr }))));
  for (const [name, nr] of table) assert.equal(f.ret('x86_64', nr), errno(100 + nr), name);
  // a search node, a return and at most two ja hops per syscall
  assert.ok(f.insns.length < 4 * table.length, `${f.insns.length} instructions`);
});
