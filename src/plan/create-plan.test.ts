import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreatePlan, buildCreatePlanWithWarnings, buildExecPlan } from './index';
import { describePlan } from './describe';
import { CLONE, ForkMode, MountTargetKind, MS, Op, OpCode } from './ops';
import { validateSpec } from '../oci/validate';
import type { Process, Spec } from '../oci/spec';
import { CartonError } from '../common/errors';
import { CONFIG_FIXTURES, dockerExecProcessTty } from './testdata/fixtures';
import { HYBRID, V2, ctx, extras, base, idx, first, last, all, before } from './testdata/plan-inputs';

const load = (f: string): Spec => validateSpec(CONFIG_FIXTURES[f]());
const fixtures = Object.keys(CONFIG_FIXTURES);

test('reference fixtures plan in create and run mode, hybrid and v2', () => {
  for (const f of fixtures) {
    const spec = load(f);
    for (const mode of ['create', 'run'] as const) {
      for (const view of [HYBRID, V2]) {
        const ops = buildCreatePlan(spec, ctx({ mode, cgroupView: view, consoleSocket: spec.process?.terminal ? '/tmp/s' : undefined }), extras());
        assert.equal(ops[ops.length - 1].op, OpCode.EXEC, f);
        assert.ok(last(ops, OpCode.SYNC) < first(ops, OpCode.READY), `${f}: no SYNC after READY`);
        assert.equal(all(ops, OpCode.FORK).length, 1, f);
        for (const o of ops) assert.ok(typeof o.source === 'string' && o.source.length > 0, `${f}: op ${o.op} has no source`);
      }
    }
  }
  const exec = dockerExecProcessTty() as Process;
  const ops = buildExecPlan(exec, { containerPid: 42, namespaces: [], detach: true, consoleSocket: '/tmp/s', preserveFds: 0 },
    load('docker-config-run-d.json'), extras());
  assert.equal(ops[ops.length - 1].op, OpCode.EXEC);
});

test('create: ordering invariants', () => {
  const ops = buildCreatePlan(base(), ctx(), extras({ seccomp: { program: new Uint8Array(8), flags: 0 } }));
  const nsStart = Math.min(first(ops, OpCode.SETNS), first(ops, OpCode.UNSHARE));
  before(ops, first(ops, OpCode.OPEN_FIFO), nsStart, 'fifo is opened on the host');
  before(ops, first(ops, OpCode.SETNS), first(ops, OpCode.UNSHARE), 'joins before unshare');
  const unshare = all(ops, OpCode.UNSHARE)[0];
  assert.equal(unshare.flags, CLONE.NEWPID | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS);
  before(ops, last(ops, OpCode.UNSHARE), first(ops, OpCode.FORK), 'namespaces before fork');
  assert.equal(all(ops, OpCode.FORK)[0].mode, ForkMode.DETACH);
  const setRoot = first(ops, OpCode.SET_ROOT);
  const rootBind = idx(ops, (o) => o.op === OpCode.MOUNT && o.targetKind === MountTargetKind.HOST && (o.flags & MS.BIND) !== 0);
  const rootProp = idx(ops, (o) => o.op === OpCode.MOUNT && o.target === '/' && o.targetKind === MountTargetKind.HOST);
  before(ops, first(ops, OpCode.FORK), rootProp, 'root propagation in the child');
  assert.equal((ops[rootProp] as Extract<Op, { op: OpCode.MOUNT }>).flags, MS.SLAVE | MS.REC);
  before(ops, rootProp, rootBind, 'rslave before self-bind');
  before(ops, rootBind, setRoot, 'self-bind before SET_ROOT');
  const firstConfigMount = idx(ops, (o) => o.source.startsWith('mounts['));
  before(ops, setRoot, firstConfigMount, 'SET_ROOT before mounts');
  const pivot = first(ops, OpCode.PIVOT_ROOT);
  before(ops, last(ops, OpCode.MKNOD), pivot, 'devices before pivot');
  before(ops, idx(ops, (o) => o.source.startsWith('mounts[4]')), pivot, 'mounts before pivot');
  const ready = first(ops, OpCode.READY);
  for (const code of [OpCode.SETHOSTNAME, OpCode.WRITE_FILE, OpCode.READONLY_PATH, OpCode.MASK_PATH, OpCode.SETRLIMIT, OpCode.UMASK, OpCode.CHDIR, OpCode.LOOKUP]) {
    before(ops, pivot, last(ops, code) === -1 ? -1 : last(ops, code), `pivot before op ${code}`);
    before(ops, last(ops, code), ready, `op ${code} before READY`);
  }
  before(ops, first(ops, OpCode.WRITE_FILE), first(ops, OpCode.READONLY_PATH), 'sysctl before /proc/sys goes read-only');
  before(ops, first(ops, OpCode.READONLY_PATH), first(ops, OpCode.MASK_PATH), 'read-only paths before masks');
  const wait = first(ops, OpCode.WAIT_START);
  before(ops, ready, wait, 'READY before WAIT_START');
  before(ops, wait, first(ops, OpCode.SET_USER), 'user change after start');
  before(ops, wait, first(ops, OpCode.CAPS), 'caps after start');
  before(ops, wait, first(ops, OpCode.SECCOMP), 'seccomp after start');
  before(ops, first(ops, OpCode.SECCOMP), first(ops, OpCode.SET_USER), 'without no_new_privs, seccomp before the user change');
  before(ops, first(ops, OpCode.CLOSE_FDS), first(ops, OpCode.EXEC), 'close fds before exec');
  assert.equal(ops[ops.length - 1].op, OpCode.EXEC);
  const user = all(ops, OpCode.SET_USER);
  assert.deepEqual(user.map((u) => [u.uid, u.gid, u.setGroups, u.groups]), [[1000, 1000, true, [10]]]);
  assert.equal(all(ops, OpCode.CLOSE_FDS)[0].first, 3);
  assert.deepEqual(all(ops, OpCode.SETNS), [{ op: OpCode.SETNS, nstype: CLONE.NEWNET, path: '/run/netns/n1', source: 'linux.namespaces[1] (network)' }]);
  assert.equal(first(ops, OpCode.SYNC), -1, 'no hooks, no SYNC');
});

test('no_new_privs puts seccomp last, after the listener SYNC', () => {
  const spec = base();
  spec.process!.noNewPrivileges = true;
  const ops = buildCreatePlan(spec, ctx(), extras({ seccomp: { program: new Uint8Array(8), flags: 8, listenerPath: '/run/agent.sock' } }));
  before(ops, first(ops, OpCode.SECCOMP_LISTENER_SOCKET), first(ops, OpCode.UNSHARE), 'agent socket connected on the host');
  before(ops, first(ops, OpCode.CAPS), first(ops, OpCode.NO_NEW_PRIVS), 'caps then nnp');
  before(ops, first(ops, OpCode.NO_NEW_PRIVS), first(ops, OpCode.SECCOMP), 'nnp then seccomp');
  const sync = idx(ops, (o) => o.op === OpCode.SYNC && o.tag === 'seccomp-listener');
  assert.equal(sync, first(ops, OpCode.READY) - 1, 'the state payload is fetched while create still listens');
  assert.equal(first(ops, OpCode.SECCOMP), ops.length - 2);
});

test('run mode: no fifo, FORK waits, READY still sent', () => {
  const ops = buildCreatePlan(base(), ctx({ mode: 'run', fifoPath: undefined }), extras());
  assert.equal(first(ops, OpCode.OPEN_FIFO), -1);
  assert.equal(first(ops, OpCode.WAIT_START), -1);
  assert.equal(all(ops, OpCode.FORK)[0].mode, ForkMode.WAIT);
  assert.ok(first(ops, OpCode.READY) > 0);
});

test('hooks produce SYNCs at their points', () => {
  const spec = base();
  spec.hooks = { prestart: [{ path: '/h' }], createContainer: [{ path: '/h' }], startContainer: [{ path: '/h' }] };
  const ops = buildCreatePlan(spec, ctx(), extras());
  const tag = (t: string) => idx(ops, (o) => o.op === OpCode.SYNC && o.tag === t);
  before(ops, last(ops, OpCode.MKNOD), tag('createRuntime'), 'createRuntime after mounts and devices');
  before(ops, tag('createRuntime'), tag('createContainer'), 'createRuntime then createContainer');
  before(ops, tag('createContainer'), first(ops, OpCode.PIVOT_ROOT), 'createContainer before pivot');
  assert.equal(tag('startContainer'), -1, 'create: `start` runs startContainer hooks, no SYNC after READY');
  const run = buildCreatePlan(spec, ctx({ mode: 'run', fifoPath: undefined }), extras({ seccomp: { program: new Uint8Array(8), flags: 8, listenerPath: '/a' } }));
  const runTags = all(run, OpCode.SYNC).map((s) => s.tag);
  assert.deepEqual(runTags, ['createRuntime', 'createContainer', 'startContainer', 'seccomp-listener']);
  before(run, idx(run, (o) => o.op === OpCode.SYNC && o.tag === 'seccomp-listener'), first(run, OpCode.READY), 'syncs before READY');
  before(run, first(run, OpCode.LOOKUP), idx(run, (o) => o.op === OpCode.SYNC && o.tag === 'startContainer'), 'startContainer when the process is set up');
  const always = buildCreatePlan(base(), ctx(), extras({ alwaysSync: true }));
  assert.deepEqual(all(always, OpCode.SYNC).map((s) => s.tag), ['createRuntime', 'createContainer']);
});

test('user namespace: maps SYNC, root in the namespace, device bind fallbacks', () => {
  const spec = base();
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
  const ops = buildCreatePlan(validateSpec(spec), ctx({ setgroupsDenied: true }), extras());
  const u = idx(ops, (o) => o.op === OpCode.UNSHARE && o.flags === CLONE.NEWUSER);
  assert.ok(u > first(ops, OpCode.SETNS), 'joins by path happen before the new user namespace');
  const src = 'linux.namespaces[5] (user)';
  assert.deepEqual(ops[u + 1], { op: OpCode.SET_DUMPABLE, dumpable: true, source: src }, 'dumpable so a non-root writer may open its /proc maps');
  assert.deepEqual(ops[u + 2], { op: OpCode.SYNC, tag: 'userns-maps', source: 'linux.uidMappings' });
  assert.deepEqual(ops[u + 3], { op: OpCode.SET_DUMPABLE, dumpable: false, source: src }, 'non-dumpable again before anything else');
  assert.deepEqual(ops[u + 4], { op: OpCode.SET_USER, uid: 0, gid: 0, setGroups: false, groups: [], source: src });
  assert.equal(ops[u + 5].op, OpCode.UNSHARE);
  const nodes = all(ops, OpCode.MKNOD);
  assert.ok(nodes.length === 7 && nodes.every((n) => n.bindFallback === n.path));
  const fuse = nodes.find((n) => n.path === '/dev/fuse')!;
  assert.equal(fuse.source, 'linux.devices[0] (/dev/fuse)');
  assert.equal(fuse.mode, 0o020600);
  const final = all(ops, OpCode.SET_USER).pop()!;
  assert.equal(final.setGroups, false, 'setgroups denied in this user namespace');
  const noUserns = all(buildCreatePlan(base(), ctx(), extras()), OpCode.MKNOD);
  assert.ok(noUserns.every((n) => n.bindFallback === ''));
});

test('setgroups denied where the runtime runs (no new user namespace): no setgroups call', () => {
  const denied = all(buildCreatePlan(validateSpec(base()), ctx({ setgroupsDenied: true, hostDevicesForFallback: true }), extras()), OpCode.SET_USER).pop()!;
  assert.equal(denied.setGroups, false);
  const allowed = all(buildCreatePlan(validateSpec(base()), ctx(), extras()), OpCode.SET_USER).pop()!;
  assert.equal(allowed.setGroups, true);
});

test('process set-up ops and their sources', () => {
  const spec = base();
  spec.process!.terminal = true;
  spec.process!.consoleSize = { height: 24, width: 80 };
  spec.process!.oomScoreAdj = 100;
  spec.process!.apparmorProfile = 'carton-default';
  spec.linux!.personality = { domain: 'LINUX32' };
  const ops = buildCreatePlan(spec, ctx({ consoleSocket: '/tmp/c.sock', apparmorEnabled: true }), extras());
  assert.deepEqual(ops[0], { op: OpCode.WRITE_FILE, path: '/proc/self/oom_score_adj', content: '100', source: 'process.oomScoreAdj' });
  assert.equal(ops[1].op, OpCode.CONSOLE_SOCKET);
  const console = all(ops, OpCode.CONSOLE)[0];
  assert.deepEqual([console.rows, console.cols], [24, 80]);
  before(ops, first(ops, OpCode.PIVOT_ROOT), first(ops, OpCode.CONSOLE), 'pty from the container /dev');
  before(ops, first(ops, OpCode.CONSOLE), idx(ops, (o) => o.source === 'root.readonly'), 'console before read-only root');
  assert.deepEqual(all(ops, OpCode.SETRLIMIT), [{ op: OpCode.SETRLIMIT, resource: 7, soft: 1024n, hard: 1024n, source: 'process.rlimits[0] (RLIMIT_NOFILE)' }]);
  assert.deepEqual(all(ops, OpCode.PERSONALITY)[0].domain, 8);
  assert.ok(all(ops, OpCode.WRITE_FILE).some((w) => w.path === '/proc/self/attr/apparmor/exec' && w.content === 'exec carton-default'));
  assert.equal(all(ops, OpCode.UMASK)[0].mask, 0o022);
  assert.equal(all(ops, OpCode.MKDIR)[0].path, '/work');
  assert.equal(all(ops, OpCode.LOOKUP)[0].source, 'process.args[0] (sleep)');
  assert.ok(all(ops, OpCode.MOUNT).some((m) => m.source === 'mounts[3] (/sys)'));
  assert.deepEqual(all(ops, OpCode.WRITE_FILE).find((w) => w.path.startsWith('/proc/sys/')),
    { op: OpCode.WRITE_FILE, path: '/proc/sys/net/ipv4/ip_forward', content: '1', source: 'linux.sysctl["net.ipv4.ip_forward"]' });
  const caps = all(ops, OpCode.CAPS)[0];
  assert.equal(caps.bounding, 1n << 5n);
  assert.equal(caps.inheritable, 0n);
});

test('planning errors name the field', () => {
  const expectErr = (fn: () => unknown, code: string, re: RegExp) => assert.throws(fn, (e: unknown) =>
    e instanceof CartonError && e.code === code && re.test(e.message));
  const term = base();
  term.process!.terminal = true;
  expectErr(() => buildCreatePlan(term, ctx(), extras()), 'EINVAL_CONFIG', /^process\.terminal: a terminal needs --console-socket/);
  expectErr(() => buildCreatePlan(base(), ctx({ consoleSocket: '/s' }), extras()), 'EINVAL_CONFIG', /^--console-socket: given, but process\.terminal is false/);
  const missing = base();
  missing.mounts!.push({ destination: '/data', type: 'bind', source: '/nope', options: ['bind'] });
  expectErr(() => buildCreatePlan(missing, ctx(), extras({ bindSourceKinds: { '/nope': 'missing' } })), 'ENOTFOUND',
    /^mounts\[5\] \(\/data\): bind source "\/nope": no such file or directory/);
  const noMnt = base();
  noMnt.linux!.namespaces = noMnt.linux!.namespaces!.filter((n) => n.type !== 'mount');
  expectErr(() => buildCreatePlan(noMnt, ctx(), extras()), 'EUNSUPPORTED', /^linux\.namespaces: a new mount namespace is required/);
  const idmap = base();
  idmap.mounts!.push({ destination: '/data', type: 'bind', source: '/d', options: ['bind', 'idmap'] });
  expectErr(() => buildCreatePlan(idmap, ctx(), extras()), 'EUNSUPPORTED', /^mounts\[5\] \(\/data\): mount option "idmap"/);
  const copyup = base();
  copyup.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
  assert.deepEqual(buildCreatePlanWithWarnings(copyup, ctx(), extras()).warnings, ['mounts[5] (/tmp): option "tmpcopyup" is ignored']);
});

test('root propagation, no-pivot, time offsets, preserved fds', () => {
  const shared = base();
  shared.linux!.rootfsPropagation = 'rshared';
  const ops = buildCreatePlan(shared, ctx({ noPivot: true, preserveFds: 2 }), extras());
  const host = all(ops, OpCode.MOUNT).filter((m) => m.targetKind === MountTargetKind.HOST);
  assert.deepEqual(host.map((m) => [m.target, m.flags]), [
    ['/', MS.SHARED | MS.REC],
    ['/bundle/rootfs', MS.BIND | MS.REC],
    ['/bundle/rootfs', MS.PRIVATE],
    ['/bundle/rootfs', MS.BIND | MS.REC],
  ]);
  assert.equal(first(ops, OpCode.PIVOT_ROOT), -1);
  assert.ok(first(ops, OpCode.MOVE_ROOT) > 0);
  assert.equal(all(ops, OpCode.CLOSE_FDS)[0].first, 5);

  const timed = base();
  timed.linux!.namespaces!.push({ type: 'time' });
  timed.linux!.timeOffsets = { monotonic: { secs: 86400 }, boottime: { secs: -5, nanosecs: 7 } };
  const t = buildCreatePlan(validateSpec(timed), ctx(), extras());
  const off = first(t, OpCode.TIMENS_OFFSETS);
  assert.ok(off > last(t, OpCode.UNSHARE) && off < first(t, OpCode.FORK));
  assert.equal((t[off] as { content: string }).content, 'monotonic 86400 0\nboottime -5 7\n');
  assert.ok((all(t, OpCode.UNSHARE)[0].flags & CLONE.NEWTIME) !== 0);
});

test('a terminal on a fresh /dev gets a /dev/console file to bind the pty onto', () => {
  const spec = base();
  spec.process!.terminal = true;
  const ops = buildCreatePlan(spec, ctx({ consoleSocket: '/s' }), extras());
  const i = idx(ops, (o) => o.op === OpCode.MKNOD && o.path === '/dev/console');
  assert.equal(i, first(ops, OpCode.CONSOLE) - 1);
  assert.equal((ops[i] as { mode: number }).mode, 0o100600);
});

test('environment: one entry per name, the last wins, HOME added when missing', () => {
  const spec = base();
  spec.process!.env = ['PATH=/bin', 'A=1', 'B=2', 'A=3', 'EMPTY=', 'PATH=/usr/bin:/bin'];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const expected = ['B=2', 'A=3', 'EMPTY=', 'PATH=/usr/bin:/bin', 'HOME=/home/user'];
  const withHome = buildCreatePlan(spec, ctx({ home: '/home/user' }), extras());
  assert.deepEqual(all(withHome, OpCode.LOOKUP)[0].env, expected);
  assert.deepEqual(all(withHome, OpCode.EXEC)[0].env, expected);
  assert.deepEqual(all(ops, OpCode.EXEC)[0].env.slice(-1), ['HOME=/'], 'HOME defaults to /');
  spec.process!.env!.push('HOME=/x');
  assert.deepEqual(all(buildCreatePlan(spec, ctx({ home: '/root' }), extras()), OpCode.EXEC)[0].env.filter((e) => e.startsWith('HOME=')), ['HOME=/x']);
});

test('describePlan gives one readable line per op', () => {
  const lines = describePlan(buildCreatePlan(base(), ctx(), extras()));
  assert.ok(lines.includes('8 MOUNT mounts[0] (/proc): proc -> /proc [in-root+mkdir] (proc; -)'), lines.slice(0, 12).join('\n'));
  assert.match(lines[lines.length - 1], /^\d+ EXEC process\.args\[0\] \(sleep\): \["sleep","1"\]$/);
  assert.ok(lines.some((l) => /MOUNT mounts\[3\] \(\/sys\): sysfs -> \/sys .*ro,nosuid,nodev,noexec/.test(l)));
});

test('a joined user namespace is entered as its root, before the other joins', () => {
  const spec = base();
  spec.linux!.namespaces!.push({ type: 'user', path: '/proc/77/ns/user' });
  const ops = buildCreatePlan(validateSpec(spec), ctx(), extras());
  assert.deepEqual(ops.slice(1, 4).map((o) => [o.op, o.source]), [
    [OpCode.SETNS, 'linux.namespaces[5] (user)'],
    [OpCode.SET_USER, 'linux.namespaces[5] (user)'],
    [OpCode.SETNS, 'linux.namespaces[1] (network)'],
  ]);
  assert.ok(all(ops, OpCode.MKNOD).filter((n) => n.path !== '/dev/console').every((n) => n.bindFallback === n.path));
});

test('a rootless runtime (hooksEnterAsOwner): the init is dumpable only around the hooks that enter it', () => {
  const spec = validateSpec({ ...base(), hooks: { createContainer: [{ path: '/bin/true' }], startContainer: [{ path: '/bin/true' }] } });
  const names = (ops: Op[]) => ops.filter((o) => o.op === OpCode.SYNC || o.op === OpCode.SET_DUMPABLE || o.op === OpCode.READY || o.op === OpCode.WAIT_START)
    .map((o) => (o.op === OpCode.SYNC ? o.tag : o.op === OpCode.SET_DUMPABLE ? `dumpable=${o.dumpable}` : o.op === OpCode.READY ? 'READY' : 'WAIT_START'));
  assert.deepEqual(names(buildCreatePlan(spec, ctx({ mode: 'run', hooksEnterAsOwner: true }), extras())),
    ['dumpable=true', 'createContainer', 'dumpable=false', 'dumpable=true', 'startContainer', 'dumpable=false', 'READY']);
  // create: `start` runs startContainer while the init waits at exec.fifo.
  assert.deepEqual(names(buildCreatePlan(spec, ctx({ mode: 'create', hooksEnterAsOwner: true }), extras())),
    ['dumpable=true', 'createContainer', 'dumpable=false', 'dumpable=true', 'READY', 'WAIT_START', 'dumpable=false']);
  // As root the init stays non-dumpable throughout.
  assert.deepEqual(names(buildCreatePlan(spec, ctx({ mode: 'create' }), extras())), ['createContainer', 'READY', 'WAIT_START']);
});
