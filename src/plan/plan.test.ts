import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreatePlan, buildCreatePlanWithWarnings, buildExecPlan } from './index';
import { describePlan } from './describe';
import type { PlanContext, PlanExtras, CgroupView } from './inputs';
import { CLONE, ForkMode, MountTargetKind, MOUNT_ATTR, MS, Op, OpCode } from './ops';
import { validateSpec } from '../oci/validate';
import type { Process, Spec } from '../oci/spec';
import { CartonError } from '../common/errors';

import { CONFIG_FIXTURES, dockerExecProcessTty } from './testdata/fixtures';

const load = (f: string): Spec => validateSpec(CONFIG_FIXTURES[f]());
const fixtures = Object.keys(CONFIG_FIXTURES);

const HYBRID: CgroupView = {
  kind: 'hybrid',
  mounts: [
    { subdir: 'cpu', hostPath: '/sys/fs/cgroup/cpu/c1' },
    { subdir: 'memory', hostPath: '/sys/fs/cgroup/memory/c1' },
    { subdir: 'unified', hostPath: '/sys/fs/cgroup/unified/c1' },
  ],
  links: [{ name: 'cpuacct', target: 'cpu' }],
};
const V2: CgroupView = { kind: 'v2', mounts: [{ subdir: '', hostPath: '/sys/fs/cgroup/c1' }], links: [] };

function ctx(over: Partial<PlanContext> = {}): PlanContext {
  return {
    mode: 'create', bundle: '/bundle', rootfs: '/bundle/rootfs', noPivot: false,
    fifoPath: '/run/carton-runtime/c1/exec.fifo', preserveFds: 0, cgroupView: HYBRID, ...over,
  };
}
function extras(over: Partial<PlanExtras> = {}): PlanExtras {
  return { capLastCap: 40, bindSourceKinds: (p) => (/(hosts|hostname|resolv\.conf|containerenv|file)$/.test(p) ? 'file' : 'dir'), ...over };
}
function base(): Spec {
  return validateSpec({
    ociVersion: '1.2.0',
    process: { user: { uid: 1000, gid: 1000, additionalGids: [10] }, args: ['sleep', '1'], cwd: '/work', env: ['PATH=/bin'],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }] },
    root: { path: 'rootfs', readonly: true },
    hostname: 'c1',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'ptmxmode=0666'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/n1' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      sysctl: { 'net.ipv4.ip_forward': '1' },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  });
}
const idx = (ops: Op[], pred: (o: Op) => boolean): number => ops.findIndex(pred);
const first = (ops: Op[], code: OpCode): number => ops.findIndex((o) => o.op === code);
const last = (ops: Op[], code: OpCode): number => ops.map((o) => o.op).lastIndexOf(code);
const all = <C extends OpCode>(ops: Op[], code: C) => ops.filter((o): o is Extract<Op, { op: C }> => o.op === code);
const before = (ops: Op[], a: number, b: number, what: string) => {
  assert.ok(a >= 0 && b >= 0 && a < b, `${what}: ${a} should come before ${b}`);
};

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

test('a read-only bind mount carries ro for the init to remount; rro is recursive mount_setattr', () => {
  const spec = base();
  spec.mounts!.push(
    { destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/app.conf', type: 'bind', source: '/srv/app.file', options: ['bind', 'rro', 'nosuid'] },
  );
  const ops = buildCreatePlan(spec, ctx(), extras());
  const data = ops.filter((o) => o.source === 'mounts[5] (/data)');
  assert.deepEqual(data, [
    { op: OpCode.MOUNT, source: 'mounts[5] (/data)', device: '/bundle/vol', target: '/data', targetKind: MountTargetKind.IN_ROOT_CREATE_DIR,
      fstype: '', flags: MS.BIND | MS.REC | MS.RDONLY, data: '' },
    { op: OpCode.MOUNT, source: 'mounts[5] (/data)', device: '', target: '/data', targetKind: MountTargetKind.IN_ROOT,
      fstype: '', flags: MS.PRIVATE | MS.REC, data: '' },
  ]);
  const conf = ops.filter((o) => o.source === 'mounts[6] (/etc/app.conf)');
  assert.equal(conf.length, 2);
  assert.equal(conf[0].op === OpCode.MOUNT && conf[0].targetKind, MountTargetKind.IN_ROOT_CREATE_FILE);
  assert.equal(conf[0].op === OpCode.MOUNT && conf[0].flags, MS.BIND | MS.NOSUID);
  assert.deepEqual(conf[1], { op: OpCode.MOUNT_SETATTR, source: 'mounts[6] (/etc/app.conf)', target: '/etc/app.conf',
    targetKind: MountTargetKind.IN_ROOT, attrSet: MOUNT_ATTR.RDONLY, attrClear: 0, propagation: 0, recursive: true });
});

test('a read-only tmpfs is filled first and made read-only after pivot_root', () => {
  const spec = base();
  spec.mounts![1].options = ['nosuid', 'ro', 'mode=755'];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const dev = all(ops, OpCode.MOUNT).find((o) => o.source === 'mounts[1] (/dev)')!;
  assert.equal(dev.flags & MS.RDONLY, 0);
  const ro = idx(ops, (o) => o.op === OpCode.MOUNT_SETATTR && o.source === 'mounts[1] (/dev)');
  before(ops, first(ops, OpCode.PIVOT_ROOT), ro, 'ro after pivot');
  before(ops, first(ops, OpCode.CONSOLE) === -1 ? first(ops, OpCode.MKDIR) : first(ops, OpCode.CONSOLE), ro, 'console first');
  const root = idx(ops, (o) => o.op === OpCode.MOUNT_SETATTR && o.source === 'root.readonly');
  assert.ok(root > first(ops, OpCode.PIVOT_ROOT));
  assert.deepEqual(ops[root], { op: OpCode.MOUNT_SETATTR, source: 'root.readonly', target: '/', targetKind: MountTargetKind.IN_ROOT,
    attrSet: MOUNT_ATTR.RDONLY, attrClear: 0, propagation: 0, recursive: false });
});

test('cgroup mount expands from the view', () => {
  const hybrid = buildCreatePlan(base(), ctx(), extras()).filter((o) => o.source === 'mounts[4] (/sys/fs/cgroup)');
  assert.deepEqual(hybrid.map((o) => [o.op, 'target' in o ? o.target : (o as { path: string }).path]), [
    [OpCode.MOUNT, '/sys/fs/cgroup'],
    [OpCode.MOUNT, '/sys/fs/cgroup/cpu'],
    [OpCode.MOUNT, '/sys/fs/cgroup/memory'],
    [OpCode.MOUNT, '/sys/fs/cgroup/unified'],
    [OpCode.SYMLINK, 'cpu'],
    [OpCode.MOUNT_SETATTR, '/sys/fs/cgroup'],
  ]);
  const tmpfs = hybrid[0] as Extract<Op, { op: OpCode.MOUNT }>;
  assert.equal(tmpfs.fstype, 'tmpfs');
  assert.equal(tmpfs.flags & MS.RDONLY, 0);
  const bind = hybrid[1] as Extract<Op, { op: OpCode.MOUNT }>;
  assert.equal(bind.device, '/sys/fs/cgroup/cpu/c1');
  assert.equal(bind.flags, MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);

  const withNs = base();
  withNs.linux!.namespaces!.push({ type: 'cgroup' });
  const nsOps = all(buildCreatePlan(withNs, ctx(), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(nsOps.map((o) => [o.fstype, o.data]), [['tmpfs', 'mode=755'], ['cgroup', 'cpu'], ['cgroup', 'memory'], ['cgroup2', '']]);

  const v2 = all(buildCreatePlan(base(), ctx({ cgroupView: V2 }), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(v2.map((o) => [o.device, o.fstype, o.flags & MS.BIND]), [['/sys/fs/cgroup/c1', '', MS.BIND]]);
  const v2ns = all(buildCreatePlan(withNs, ctx({ cgroupView: V2 }), extras()), OpCode.MOUNT).filter((o) => o.source.startsWith('mounts[4]'));
  assert.deepEqual(v2ns.map((o) => [o.device, o.fstype, o.flags & MS.RDONLY]), [['cgroup2', 'cgroup2', MS.RDONLY]]);
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
  assert.deepEqual(ops[u + 1], { op: OpCode.SYNC, tag: 'userns-maps', source: 'linux.uidMappings' });
  assert.deepEqual(ops[u + 2], { op: OpCode.SET_USER, uid: 0, gid: 0, setGroups: false, groups: [], source: 'linux.namespaces[5] (user)' });
  assert.equal(ops[u + 3].op, OpCode.UNSHARE);
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

test('/dev: defaults replaced by config devices, nothing when /dev is a bind, links', () => {
  const spec = base();
  spec.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const nulls = all(ops, OpCode.MKNOD).filter((n) => n.path === '/dev/null');
  assert.deepEqual(nulls.map((n) => [n.mode, n.uid, n.gid, n.source]), [[0o020600, 5, 6, 'linux.devices[0] (/dev/null)']]);
  assert.deepEqual(all(ops, OpCode.SYMLINK).filter((s) => s.path.startsWith('/dev/')).map((s) => `${s.path}->${s.target}`), [
    '/dev/ptmx->pts/ptmx', '/dev/fd->/proc/self/fd', '/dev/stdin->/proc/self/fd/0', '/dev/stdout->/proc/self/fd/1',
    '/dev/stderr->/proc/self/fd/2', '/dev/core->/proc/kcore',
  ]);
  const bound = base();
  bound.mounts![1] = { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] };
  assert.equal(first(buildCreatePlan(bound, ctx(), extras()), OpCode.MKNOD), -1);
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

test('exec: joins user first and mount last, forks, sets the process up', () => {
  const spec = base();
  spec.linux!.namespaces!.push({ type: 'user' }, { type: 'cgroup' });
  const proc: Process = { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH=/bin'], noNewPrivileges: true,
    rlimits: [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }] };
  const ops = buildExecPlan(proc, { containerPid: 4242, namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'], detach: false, preserveFds: 1 },
    spec, extras({ seccomp: { program: new Uint8Array(8), flags: 0 } }));
  assert.deepEqual(all(ops, OpCode.SETNS).map((s) => s.path), [
    '/proc/4242/ns/user', '/proc/4242/ns/ipc', '/proc/4242/ns/uts', '/proc/4242/ns/net',
    '/proc/4242/ns/pid', '/proc/4242/ns/cgroup', '/proc/4242/ns/mnt',
  ]);
  assert.equal(all(ops, OpCode.SETNS)[6].nstype, CLONE.NEWNS);
  before(ops, last(ops, OpCode.SETNS), first(ops, OpCode.FORK), 'join then fork');
  assert.equal(all(ops, OpCode.FORK)[0].mode, ForkMode.WAIT);
  for (const code of [OpCode.UNSHARE, OpCode.READY, OpCode.WAIT_START, OpCode.MOUNT, OpCode.PIVOT_ROOT]) assert.equal(first(ops, code), -1);
  before(ops, first(ops, OpCode.SETRLIMIT), first(ops, OpCode.SET_USER), 'rlimits before user');
  before(ops, first(ops, OpCode.NO_NEW_PRIVS), first(ops, OpCode.SECCOMP), 'nnp then seccomp');
  assert.equal(all(ops, OpCode.CLOSE_FDS)[0].first, 4);
  assert.equal(ops[ops.length - 1].op, OpCode.EXEC);
  const detached = buildExecPlan(proc, { containerPid: 1, namespaces: [], detach: true, preserveFds: 0 }, spec, extras());
  assert.equal(all(detached, OpCode.FORK)[0].mode, ForkMode.DETACH);
  assert.equal(all(detached, OpCode.SETNS).length, 7, 'namespaces taken from the container config when ctx has none');
});

test('mounts inside /proc are refused unless they are known-safe binds', () => {
  const add = (m: { destination: string; type?: string; source?: string; options?: string[] }) => {
    const s = base();
    s.mounts!.push(m);
    return () => buildCreatePlan(s, ctx(), extras({ bindSourceKinds: () => 'file' }));
  };
  assert.throws(add({ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' }), /^CartonError: mounts\[5\] \(\/proc\/sys\): cannot mount inside \/proc/);
  assert.throws(add({ destination: '/proc/self', type: 'bind', source: '/tmp/x', options: ['bind'] }), /cannot mount inside \/proc/);
  assert.throws(add({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }), /\/proc can only be a proc mount/);
  assert.doesNotThrow(add({ destination: '/proc/meminfo', type: 'bind', source: '/var/lib/lxcfs/proc/meminfo', options: ['bind'] }));
  assert.doesNotThrow(add({ destination: '/proc/sys/net', type: 'bind', source: '/proc/sys/net', options: ['rbind'] }));
});

test('a terminal on a fresh /dev gets a /dev/console file to bind the pty onto', () => {
  const spec = base();
  spec.process!.terminal = true;
  const ops = buildCreatePlan(spec, ctx({ consoleSocket: '/s' }), extras());
  const i = idx(ops, (o) => o.op === OpCode.MKNOD && o.path === '/dev/console');
  assert.equal(i, first(ops, OpCode.CONSOLE) - 1);
  assert.equal((ops[i] as { mode: number }).mode, 0o100600);
});

test('environment: one entry per name, the last wins', () => {
  const spec = base();
  spec.process!.env = ['PATH=/bin', 'A=1', 'B=2', 'A=3', 'EMPTY=', 'PATH=/usr/bin:/bin'];
  const ops = buildCreatePlan(spec, ctx(), extras());
  const expected = ['B=2', 'A=3', 'EMPTY=', 'PATH=/usr/bin:/bin'];
  assert.deepEqual(all(ops, OpCode.LOOKUP)[0].env, expected);
  assert.deepEqual(all(ops, OpCode.EXEC)[0].env, expected);
});

test('bind: explicit rw/suid clear the source flags; /dev/ptmx devices are left to the link', () => {
  const spec = base();
  spec.mounts!.push({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rw', 'suid'] });
  spec.linux!.devices = [{ path: '/dev/ptmx', type: 'c', major: 5, minor: 2 }];
  const ops = buildCreatePlan(validateSpec(spec), ctx(), extras());
  const data = ops.filter((o) => o.source === 'mounts[5] (/data)');
  assert.equal(data.length, 2);
  assert.deepEqual(data[1], { op: OpCode.MOUNT_SETATTR, source: 'mounts[5] (/data)', target: '/data', targetKind: MountTargetKind.IN_ROOT,
    attrSet: 0, attrClear: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, propagation: 0, recursive: false });
  assert.equal(all(ops, OpCode.MKNOD).filter((n) => n.path === '/dev/ptmx').length, 0);
  const plain = buildCreatePlan(base(), ctx(), extras());
  assert.equal(all(plain, OpCode.MOUNT_SETATTR).filter((o) => o.attrClear !== 0).length, 0);
});

test('describePlan gives one readable line per op', () => {
  const lines = describePlan(buildCreatePlan(base(), ctx(), extras()));
  assert.ok(lines.includes('8 MOUNT mounts[0] (/proc): proc -> /proc [in-root+mkdir] (proc; -)'), lines.slice(0, 12).join('\n'));
  assert.match(lines[lines.length - 1], /^\d+ EXEC process\.args\[0\] \(sleep\): \["sleep","1"\]$/);
  assert.ok(lines.some((l) => /MOUNT mounts\[3\] \(\/sys\): sysfs -> \/sys .*ro,nosuid,nodev,noexec/.test(l)));
});
