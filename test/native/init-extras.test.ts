/** carton-init: seccomp (filter and listener), time namespace, joining namespaces, MOVE_ROOT, fd hygiene. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { CLONE, Op, OpCode } from '../../src/plan/ops';
import { containerOps, makeRootfs, receiveFdOnce, runOps } from './helpers';

const c = makeRootfs();
after(() => c.cleanup());

/** struct sock_filter[] from [code, jt, jf, k] tuples. */
function filter(insns: [number, number, number, number][]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, i * 8);
    b.writeUInt8(jt, i * 8 + 2);
    b.writeUInt8(jf, i * 8 + 3);
    b.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return b;
}
const RET_ALLOW = 0x7fff0000;
const ALLOW_ALL = filter([[0x06, 0, 0, RET_ALLOW]]);
/** mkdir(2) (x86_64 nr 83) fails with EPERM, everything else is allowed. */
const DENY_MKDIR = filter([
  [0x20, 0, 0, 0], // ld [nr]
  [0x15, 0, 1, 83], // jeq #83
  [0x06, 0, 0, 0x00050001], // ret ERRNO(EPERM)
  [0x06, 0, 0, RET_ALLOW],
]);

function replace(ops: Op[], code: OpCode, by: Op[]): Op[] {
  const i = ops.findIndex((o) => o.op === code);
  assert.ok(i >= 0);
  return [...ops.slice(0, i), ...by, ...ops.slice(i + 1)];
}

function beforeExec(ops: Op[], extra: Op[]): Op[] {
  const i = ops.findIndex((o) => o.op === OpCode.EXEC);
  return [...ops.slice(0, i), ...extra, ...ops.slice(i)];
}

test('SECCOMP loads the filter the process then runs under', async () => {
  const ops = beforeExec(containerOps(c.rootfs, { args: ['sh', '-c', 'mkdir /tmp/x || echo denied; grep Seccomp: /proc/self/status'] }), [
    { op: OpCode.NO_NEW_PRIVS, source: 'process.noNewPrivileges' },
    { op: OpCode.SECCOMP, source: 'linux.seccomp', flags: 0, program: DENY_MKDIR, listenerPath: '', listenerMetadata: '' },
  ]);
  const r = await runOps(ops);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.out, 'denied\nSeccomp:\t2\n');
  assert.match(r.err, /Operation not permitted/);
});

test('SECCOMP with a listener sends the notify fd and the SYNC answer to the agent socket', async (t) => {
  const sockPath = path.join(c.dir, 'agent.sock');
  const server = net.createServer({ pauseOnConnect: true });
  t.after(() => server.close());
  await new Promise<void>((r) => server.listen(sockPath, r));
  const received = receiveFdOnce(server);
  const ops = beforeExec(containerOps(c.rootfs, {
    args: ['true'],
    afterFork: [{ op: OpCode.SECCOMP_LISTENER_SOCKET, source: 'linux.seccomp.listenerPath', path: sockPath }],
  }), [
    { op: OpCode.SYNC, source: 'linux.seccomp.listenerPath', tag: 'seccomp-listener' },
    { op: OpCode.SECCOMP, source: 'linux.seccomp', flags: 8 /* NEW_LISTENER */, program: ALLOW_ALL, listenerPath: sockPath, listenerMetadata: '' },
  ]);
  const r = await runOps(ops, { onSync: async (tag) => Buffer.from(JSON.stringify({ tag })) });
  assert.equal(r.error, undefined, String(r.error));
  const got = await received;
  t.after(() => fs.closeSync(got.fd));
  assert.equal(got.payload.toString(), '{"tag":"seccomp-listener"}');
  assert.equal(fs.readlinkSync(`/proc/self/fd/${got.fd}`), 'anon_inode:seccomp notify');
});

test('TIMENS_OFFSETS moves the container\'s clocks', async () => {
  const ops = containerOps(c.rootfs, { args: ['cat', '/proc/uptime'] });
  ops.splice(1, 0,
    { op: OpCode.UNSHARE, source: 'linux.namespaces', flags: CLONE.NEWTIME },
    { op: OpCode.TIMENS_OFFSETS, source: 'linux.timeOffsets', content: 'boottime 864000 0\n' });
  const r = await runOps(ops);
  assert.equal(r.error, undefined, String(r.error));
  const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  assert.ok(Number(r.out.split(' ')[0]) - hostUptime > 863000, r.out);
});

test('SETNS joins an existing namespace by path', async (t) => {
  const holder = spawn('unshare', ['--net', '--uts', 'sleep', '30'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  const pid = holder.pid!;
  const netns = () => { try { return fs.readlinkSync(`/proc/${pid}/ns/net`); } catch { return ''; } };
  const host = fs.readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200 && (netns() === '' || netns() === host); i++) await new Promise((r) => setTimeout(r, 10));
  const want = netns();
  assert.notEqual(want, host);
  const ops = containerOps(c.rootfs, { args: ['readlink', '/proc/self/ns/net'] });
  ops[0] = { op: OpCode.UNSHARE, source: 'linux.namespaces', flags: CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC };
  ops.unshift({ op: OpCode.SETNS, source: 'linux.namespaces[1] (network)', nstype: CLONE.NEWNET, path: `/proc/${pid}/ns/net` });
  const r = await runOps(ops);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.out.trim(), want);
  const bad = await runOps([{ op: OpCode.SETNS, source: 'linux.namespaces[1] (network)', nstype: CLONE.NEWNET, path: '/proc/self/ns/uts' }]);
  assert.equal(bad.error?.message, 'linux.namespaces[1] (network): setns /proc/self/ns/uts: invalid argument');
});

test('MOVE_ROOT (--no-pivot) runs the container in the rootfs', async () => {
  const ops = replace(containerOps(c.rootfs, { args: ['sh', '-c', 'ls /; ls /proc/self/fd'] }), OpCode.PIVOT_ROOT, [
    { op: OpCode.MOVE_ROOT, source: '--no-pivot' },
  ]);
  const r = await runOps(ops);
  assert.equal(r.error, undefined, String(r.error));
  assert.match(r.out, /^bin\ndev\netc\nproc\nroot\nsys\ntmp\nusr\nvar\n/);
  assert.match(r.out, /\n0\n1\n2\n3\n$/, 'only stdio (and ls\'s own directory fd) reach the container');
});

test('user namespace: maps written at SYNC, devices bound when mknod is refused, locked flags kept on remount', async (t) => {
  const u = makeRootfs();
  t.after(() => u.cleanup());
  fs.chmodSync(u.dir, 0o755); // the mapped root must reach the rootfs
  const src = fs.mkdtempSync(path.join(u.dir, 'carton-test-src-'));
  fs.chmodSync(src, 0o755);
  fs.mkdirSync(path.join(u.rootfs, 'ro')); // the rootfs belongs to the host's root, not the mapped one
  const ops: Op[] = [
    { op: OpCode.UNSHARE, source: 'linux.namespaces', flags: CLONE.NEWUSER },
    { op: OpCode.SYNC, source: 'linux.uidMappings', tag: 'userns-maps' },
    { op: OpCode.SET_USER, source: 'linux.uidMappings', uid: 0, gid: 0, setGroups: false, groups: [] },
    ...containerOps(u.rootfs, {
      args: ['sh', '-c', 'cat /proc/self/uid_map; echo x > /dev/null && echo null-ok; stat -c %t,%T /dev/null; touch /ro/f 2>/dev/null || echo ro-ok'],
      mounts: [{ op: OpCode.MOUNT, source: 'mounts[4] (/ro)', device: src, target: '/ro', targetKind: 2, fstype: '', flags: 0x1000 | 0x1, data: '' }],
    }),
  ];
  let initPid = 0;
  const r = await runOps(ops, {
    beforePlan: (pid) => { initPid = pid; },
    onSync: async (tag) => {
      assert.equal(tag, 'userns-maps');
      fs.writeFileSync(`/proc/${initPid}/uid_map`, '0 100000 65536\n');
      fs.writeFileSync(`/proc/${initPid}/gid_map`, '0 100000 65536\n');
    },
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 0 }, r.err);
  assert.equal(r.out.replace(/ +/g, ' '), ' 0 100000 65536\nnull-ok\n1,3\nro-ok\n');
});

test('preserveFds: fd 3 of the caller reaches the container, the init socket does not', async (t) => {
  const file = path.join(c.dir, 'preserved.txt');
  fs.writeFileSync(file, 'preserved-content\n');
  const fd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(fd));
  // A child Node process whose fd 3 is the file runs the container, as an engine passing --preserve-fds 1 would.
  const script = `
    const { startInit } = require(${JSON.stringify(path.resolve(__dirname, '../../src/native/init-driver.js'))});
    const { containerOps } = require(${JSON.stringify(path.resolve(__dirname, './helpers.js'))});
    const h = startInit({ preserveFds: 1, ops: containerOps(${JSON.stringify(c.rootfs)}, {
      preserveFds: 1, args: ['sh', '-c', 'cat <&3; ls /proc/self/fd | tr "\\\\n" " "'] }) });
    h.done.catch((e) => { console.error(e.message); process.exitCode = 1; });`;
  const r = await new Promise<{ out: string; err: string; code: number | null }>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ out, err, code }));
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'preserved-content\n0 1 2 3 4 ');
});

test('WRITE_FILE (sysctl in the container\'s net namespace), SETDOMAINNAME, PERSONALITY, default umask', async () => {
  const sysctl = '/proc/sys/net/ipv4/ip_unprivileged_port_start';
  const before = fs.readFileSync(sysctl, 'utf8');
  const r = await runOps(containerOps(c.rootfs, {
    args: ['sh', '-c', `cat ${sysctl} /proc/sys/kernel/domainname; uname -m; umask`],
    mounts: [{ op: OpCode.WRITE_FILE, source: 'linux.sysctl (net.ipv4.ip_unprivileged_port_start)', path: sysctl, content: '80' }],
    process: [
      { op: OpCode.SETDOMAINNAME, source: 'domainname', name: 'carton.test' },
      { op: OpCode.PERSONALITY, source: 'linux.personality.domain (LINUX32)', domain: 0x0008 },
      { op: OpCode.SET_DUMPABLE, source: 'test', dumpable: true },
    ],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.out, '80\ncarton.test\ni686\n0022\n');
  assert.equal(fs.readFileSync(sysctl, 'utf8'), before, 'the host value is unchanged');
});
