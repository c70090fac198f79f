/**
 * Bad input in config.json (issue 3 §4): invalid capability names, seccomp profiles with
 * unknown actions/architectures/operators/flags, overlapping id mappings, hooks that do not
 * exist, fail or hang past their timeout, intelRdt, bad personality and timeOffsets.
 * Each case: non-zero exit, a message naming the field, and nothing left behind (state dir,
 * cgroup named after the id, mount under the bundle, process naming the id or in its cgroup).
 *
 * runc 1.1.5 (installed here) for the same inputs, for the record: an unknown capability is
 * only a warning ("ignoring unknown or unavailable capabilities: [CAP_NOPE]") and the
 * container is created; unknown seccomp actions/arches fail with `string SCMP_ACT_NOPE is not
 * a valid action for seccomp`; overlapping mappings fail late in nsexec with
 * `failed to update /proc/N/uid_map: Invalid argument` (no field named); a missing hook gives
 * `error running hook #0: fork/exec /nonexistent: no such file or directory`; a hook past its
 * timeout `hook ran past specified timeout of 1.0s`. All exit 1, as carton-runtime does.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import type { Spec } from '../../src/oci/spec';
import { Lab } from './harness';

const lab = new Lab();
after(() => lab.cleanup());

/** create (and run) must exit 1 with `pattern` on stderr and leave nothing behind. */
function refused(label: string, mutate: (s: Spec) => void, pattern: RegExp, opts: { viaRun?: boolean; maxMs?: number } = {}): void {
  for (const verb of opts.viaRun ? ['create', 'run'] : ['create']) {
    const id = lab.id(`${label}-${verb}`);
    const b = lab.bundle(id, ['true'], mutate);
    const t0 = Date.now();
    const r = lab.detached('carton', [verb, '-b', b, id]);
    const took = Date.now() - t0;
    assert.equal(r.status, 1, `${verb} should fail: ${r.stderr}`);
    assert.match(r.stderr, pattern, verb);
    assert.match(r.stderr, /^carton-runtime: /m, 'one clear line, prefixed like every runtime error');
    if (opts.maxMs) assert.ok(took < opts.maxMs, `${verb} took ${took} ms`);
    assert.deepEqual(lab.leaks('carton', id, b), [], `${verb} left something behind`);
  }
}

/** Host pids whose command line is exactly `cmdline` (words joined by spaces). */
function processesNamed(cmdline: string): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === cmdline;
    } catch {
      return false;
    }
  });
}

const userns = (s: Spec): void => {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

describe('capabilities', () => {
  test('an unknown name in bounding', () => {
    refused('cap-bounding', (s) => s.process!.capabilities!.bounding!.push('CAP_NOPE'), /process\.capabilities\.bounding\[3\]: unknown capability "CAP_NOPE"/, { viaRun: true });
  });

  test('an unknown name in ambient (names are case-sensitive)', () => {
    refused('cap-ambient', (s) => (s.process!.capabilities!.ambient = ['CAP_KILL', 'cap_kill']), /process\.capabilities\.ambient\[1\]: unknown capability "cap_kill"/);
  });
});

describe('seccomp', () => {
  const profile = (extra: Record<string, unknown>) => (s: Spec) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }], ...extra } as never;
  };

  test('an unknown rule action', () => {
    refused('sc-action', profile({ syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_NOPE' }] }), /linux\.seccomp\.syscalls\[0\]\.action: unknown action "SCMP_ACT_NOPE"/, { viaRun: true });
  });

  test('an unknown default action', () => {
    refused('sc-default', profile({ defaultAction: 'SCMP_ACT_NOPE' }), /linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"/);
  });

  test('an unknown architecture', () => {
    refused('sc-arch', profile({ architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_NOPE'] }), /linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_NOPE"/);
  });

  test('an unknown operator and an argument index past 5', () => {
    refused('sc-op', profile({ syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_NOPE' }] }] }), /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_NOPE"/);
    refused('sc-index', profile({ syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }), /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: 6 is not a syscall argument index/);
  });

  test('NOTIFY without a listenerPath, and a listener socket that does not exist (fails late: after the namespaces exist)', () => {
    refused('sc-notify', profile({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), /linux\.seccomp\.syscalls\[0\]\.action: SCMP_ACT_NOTIFY needs linux\.seccomp\.listenerPath/);
    refused('sc-listener', profile({ listenerPath: '/tmp/carton-test-no-such.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), /linux\.seccomp\.listenerPath: connect seccomp listener socket \/tmp\/carton-test-no-such\.sock: no such file or directory/, { viaRun: true });
  });

  test('a syscall name the kernel does not know is skipped, as runc does (not an error)', () => {
    const id = lab.id('sc-unknown-name');
    const b = lab.bundle(id, ['sh', '-c', 'mkdir /tmp/x 2>/dev/null; echo $?'], profile({ syscalls: [{ names: ['carton_no_such_syscall', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }));
    const r = lab.run('carton', ['run', '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1\n', 'the known names of the same rule still apply');
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('an unknown flag, and a flag the kernel only takes with a listener', () => {
    refused('sc-flag', profile({ flags: ['SECCOMP_FILTER_FLAG_NOPE'] }), /linux\.seccomp\.flags\[0\]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"/);
    refused('sc-killable', profile({ flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), /linux\.seccomp\.flags\[0\]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule/);
  });
});

describe('id mappings', () => {
  test('overlapping container ids', () => {
    refused('map-ctr', (s) => {
      userns(s);
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 500, hostID: 200000, size: 10 }];
    }, /linux\.uidMappings\[1\]: container ids overlap with linux\.uidMappings\[0\]/, { viaRun: true });
  });

  test('overlapping host ids (gid)', () => {
    refused('map-host', (s) => {
      userns(s);
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 2000, hostID: 100500, size: 10 }];
    }, /linux\.gidMappings\[1\]: host ids overlap with linux\.gidMappings\[0\]/);
  });

  test('a zero-sized range, a range past 2^32, more than the kernel\'s 340 lines', () => {
    refused('map-zero', (s) => {
      userns(s);
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }];
    }, /linux\.uidMappings\[0\]\.size: must be greater than zero, got 0/);
    refused('map-wrap', (s) => {
      userns(s);
      s.linux!.uidMappings = [{ containerID: 0, hostID: 4294967000, size: 65536 }];
    }, /linux\.uidMappings\[0\]: host ids 4294967000\.\.\d+ do not fit in 32 bits/);
    refused('map-many', (s) => {
      userns(s);
      s.linux!.uidMappings = Array.from({ length: 341 }, (_, i) => ({ containerID: i * 10, hostID: 100000 + i * 10, size: 1 }));
    }, /linux\.uidMappings: at most 340 mappings are allowed, got 341/);
  });

  test('mappings without a user namespace, and a user namespace without gid mappings', () => {
    refused('map-nons', (s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }]), /linux\.uidMappings: set, but there is no user namespace/);
    refused('map-nogid', (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }, /linux\.gidMappings: required when a new user namespace is created/);
  });

  test('non-contiguous (gapped) mappings are valid: the kernel and runc accept them, and so does carton', () => {
    const id = lab.id('map-gaps');
    const b = lab.bundle(id, ['cat', '/proc/self/uid_map'], (s) => {
      userns(s);
      s.process!.capabilities = undefined;
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 5000, hostID: 300000, size: 10 }];
    });
    // The mapped root must be able to reach its rootfs (mkdtemp makes the bundle 0700).
    fs.chmodSync(b, 0o711);
    const r = lab.run('carton', ['run', '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)), [[0, 100000, 1000], [5000, 300000, 10]]);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });
});

describe('hooks', () => {
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    test(`a ${kind} hook binary that does not exist`, () => {
      refused(`hook-missing-${kind}`, (s) => (s.hooks = { [kind]: [{ path: '/nonexistent' }] }), new RegExp(`hooks\\.${kind}\\[0\\] \\(/nonexistent\\): .*[Nn]o such file or directory`), { viaRun: kind === 'prestart' });
    });
  }

  test('a hook path that is not executable (a file, a directory)', () => {
    refused('hook-noexec', (s) => (s.hooks = { prestart: [{ path: '/etc/passwd' }] }), /hooks\.prestart\[0\] \(\/etc\/passwd\): permission denied/);
    refused('hook-dir', (s) => (s.hooks = { createRuntime: [{ path: '/tmp' }] }), /hooks\.createRuntime\[0\] \(\/tmp\): permission denied/);
  });

  test('a createRuntime hook that fails: its exit status and stderr in the message', () => {
    refused('hook-fails', (s) => (s.hooks = { createRuntime: [{ path: '/bin/true' }, { path: '/bin/sh', args: ['sh', '-c', 'echo broken >&2; exit 3'] }] }), /hooks\.createRuntime\[1\] \(\/bin\/sh\): exit status 3: broken/);
  });

  test('a prestart hook that fails aborts create and run: its exit status and stderr in the message, nothing left', () => {
    refused('hook-prestart-fails', (s) => (s.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no-network >&2; exit 5'] }] }), /hooks\.prestart\[0\] \(\/bin\/sh\): exit status 5: no-network/, { viaRun: true });
  });

  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    test(`a ${kind} hook that hangs past its timeout is killed, and create fails promptly`, () => {
      refused(`hook-hang-${kind}`, (s) => (s.hooks = { [kind]: [{ path: '/bin/sleep', args: ['sleep', '60'], timeout: 1 }] }), new RegExp(`hooks\\.${kind}\\[0\\] \\(/bin/sleep\\): timed out after 1s`), { maxMs: 10_000 });
    });
  }

  // A hook that forks (a shell running its work in the background): the timeout must take its
  // children too, or they outlive the failed create. Each sleep has a unique duration to be found by.
  let uniq = 0;
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    test(`a ${kind} hook's children are killed with it at the timeout`, () => {
      const marker = `60.${process.pid}${++uniq}`;
      refused(`hook-fork-${kind}`, (s) => (s.hooks = { [kind]: [{ path: '/bin/sh', args: ['sh', '-c', `sleep ${marker} & wait`], timeout: 1 }] }), new RegExp(`hooks\\.${kind}\\[0\\] \\(/bin/sh\\): timed out after 1s`), { maxMs: 10_000 });
      const orphans = processesNamed(`sleep ${marker}`);
      for (const pid of orphans) process.kill(pid, 'SIGKILL');
      assert.deepEqual(orphans, [], 'the hook\'s child survived its timeout');
    });
  }

  test('a relative hook path and a zero timeout', () => {
    refused('hook-relative', (s) => (s.hooks = { poststart: [{ path: 'bin/true' }] }), /hooks\.poststart\[0\]\.path: must be an absolute path, got "bin\/true"/);
    refused('hook-timeout0', (s) => (s.hooks = { prestart: [{ path: '/bin/true', timeout: 0 }] }), /hooks\.prestart\[0\]\.timeout: must be greater than zero, got 0/);
  });
});

describe('namespaces', () => {
  test('a duplicate type, a path that does not exist, a path that is not a namespace', () => {
    refused('ns-dup', (s) => s.linux!.namespaces!.push({ type: 'pid' }), /linux\.namespaces\[6\]\.type: duplicate namespace type "pid"/);
    refused('ns-nopath', (s) => (s.linux!.namespaces![0].path = '/proc/999999999/ns/pid'), /linux\.namespaces\[0\] \(pid\): open \/proc\/999999999\/ns\/pid: no such file or directory/, { viaRun: true });
    refused('ns-notns', (s) => (s.linux!.namespaces!.find((n) => n.type === 'network')!.path = '/tmp'), /linux\.namespaces\[1\] \(network\): setns \/tmp: invalid argument/);
  });
});

describe('other linux fields', () => {
  test('linux.intelRdt: not supported', () => {
    refused('rdt', (s) => (s.linux!.intelRdt = { closID: 'carton-test', l3CacheSchema: 'L3:0=f' }), /linux\.intelRdt: not supported by carton-runtime/, { viaRun: true });
  });

  test('linux.personality: an unknown domain, and flags', () => {
    refused('pers-domain', (s) => (s.linux!.personality = { domain: 'LINUX64' as never }), /linux\.personality\.domain: unknown domain "LINUX64"/);
    refused('pers-flags', (s) => (s.linux!.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] } as never), /linux\.personality\.flags: not supported/);
  });

  test('linux.timeOffsets: without a time namespace, and an unknown clock', () => {
    refused('tns-none', (s) => (s.linux!.timeOffsets = { monotonic: { secs: 1, nanosecs: 0 } }), /linux\.timeOffsets: needs a time namespace/);
    refused('tns-clock', (s) => {
      s.linux!.namespaces!.push({ type: 'time' });
      s.linux!.timeOffsets = { realtime: { secs: 1, nanosecs: 0 } } as never;
    }, /linux\.timeOffsets\.realtime: unknown clock "realtime"/);
  });
});
