/** carton-init running real containers from hand-written op lists (root, real kernel). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MS, MountTargetKind, OpCode, RLIM_INFINITY } from '../../src/plan/ops';
import { containerOps, makeRootfs, mount, runOps } from './helpers';

const c = makeRootfs();
after(() => c.cleanup());

test('sh -c runs as pid 1 in new namespaces with its own mounts, devices and hostname', async () => {
  const script = [
    'echo pid=$$', 'hostname', 'for n in net uts ipc mnt; do readlink /proc/self/ns/$n; done',
    'stat -c "%n %t,%T" /dev/null /dev/zero /dev/tty', 'grep -E " /(proc|dev|dev/pts|dev/shm|proc/sys) " /proc/self/mountinfo',
    'echo err >&2', 'exit 3',
  ].join('; ');
  const r = await runOps(containerOps(c.rootfs, { args: ['sh', '-c', script], hostname: 'carton-box' }));
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 3 });
  assert.equal(r.err, 'err\n');
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'pid=1');
  assert.equal(lines[1], 'carton-box');
  for (const ns of ['net', 'uts', 'ipc', 'mnt']) {
    const mine = fs.readlinkSync(`/proc/self/ns/${ns}`);
    assert.ok(r.out.includes(`${ns}:[`) && !r.out.includes(mine), `${ns} namespace is new`);
  }
  assert.match(r.out, /\/dev\/null 1,3\n\/dev\/zero 1,5\n\/dev\/tty 5,0/);
  assert.match(r.out, / \/proc rw,nosuid,nodev,noexec/);
  assert.match(r.out, / \/proc\/sys ro,/);
  assert.match(r.out, / \/dev\/pts rw,nosuid,noexec/);
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(c.rootfs), 'nothing mounted on the host');
});

test('rlimit, user switch, groups and capabilities reach the process', async () => {
  const KILL = 5n, NET_BIND = 10n, SETPCAP = 8n;
  const caps = (1n << KILL) | (1n << NET_BIND);
  const r = await runOps(containerOps(c.rootfs, {
    args: ['sh', '-c', 'id; ulimit -n; ulimit -Hn; umask; grep -E "^(Cap|NoNewPrivs)" /proc/self/status'],
    process: [
      { op: OpCode.SETRLIMIT, source: 'process.rlimits[0]', resource: 7, soft: 512n, hard: 1000n },
      { op: OpCode.UMASK, source: 'process.user.umask', mask: 0o027 },
      { op: OpCode.SET_USER, source: 'process.user', uid: 1000, gid: 1000, setGroups: true, groups: [5, 1000] },
      { op: OpCode.CAPS, source: 'process.capabilities', bounding: caps | (1n << SETPCAP), effective: caps, permitted: caps, inheritable: 1n << NET_BIND, ambient: 1n << NET_BIND },
      { op: OpCode.NO_NEW_PRIVS, source: 'process.noNewPrivileges' },
    ],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 0 }, r.err);
  assert.match(r.out, /^uid=1000\(user\) gid=1000\(user\) groups=5\(tty\),1000\(user\)\n512\n1000\n0027\n/);
  assert.match(r.out, /CapInh:\t0000000000000400/);
  assert.match(r.out, /CapPrm:\t0000000000000400/);
  assert.match(r.out, /CapEff:\t0000000000000400/);
  assert.match(r.out, /CapBnd:\t0000000000000520/);
  assert.match(r.out, /CapAmb:\t0000000000000400/);
  assert.match(r.out, /NoNewPrivs:\t1/);
});

test('a command not in PATH fails at LOOKUP with 127, a non-executable with 126', async () => {
  const missing = await runOps(containerOps(c.rootfs, { args: ['nosuch'] }));
  assert.equal(missing.error?.code, 'EEXEC_NOTFOUND');
  assert.equal(missing.error?.exitCode, 127);
  assert.equal(missing.error?.message, 'exec: "nosuch": executable file not found in $PATH');
  const abs = await runOps(containerOps(c.rootfs, { args: ['/no/such'] }));
  assert.equal(abs.error?.message, 'exec: "/no/such": stat /no/such: no such file or directory');
  const perm = await runOps(containerOps(c.rootfs, { args: ['/etc/passwd'] }));
  assert.equal(perm.error?.code, 'EEXEC_PERM');
  assert.equal(perm.error?.exitCode, 126);
  assert.equal(perm.error?.message, 'exec: "/etc/passwd": permission denied');
});

test('an rlimit above the hard limit is refused and the error names the field', async () => {
  const r = await runOps(containerOps(c.rootfs, {
    args: ['true'],
    process: [{ op: OpCode.SETRLIMIT, source: 'process.rlimits[1] (RLIMIT_NOFILE)', resource: 7, soft: 1024n, hard: RLIM_INFINITY }],
  }));
  assert.equal(r.error?.code, 'EKERNEL');
  assert.equal(r.error?.message, 'process.rlimits[1] (RLIMIT_NOFILE): setrlimit: operation not permitted');
});

test('a failing mount names its source, syscall and reason', async () => {
  const r = await runOps(containerOps(c.rootfs, {
    args: ['true'],
    mounts: [mount('mounts[7] (/data)', 'none', '/data', 'nosuchfs', 0)],
  }));
  assert.equal(r.error?.code, 'EKERNEL');
  assert.equal(r.error?.message, 'mounts[7] (/data): mount none on /data: no such device');
});

test('a symlink in the rootfs pointing at a host dir cannot redirect a mount to the host', async (t) => {
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hostdir-'));
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-src-'));
  t.after(() => { fs.rmSync(hostDir, { recursive: true, force: true }); fs.rmSync(src, { recursive: true, force: true }); });
  fs.writeFileSync(path.join(src, 'marker'), 'from-bind\n');
  fs.mkdirSync(path.join(c.rootfs, 'mnt'), { recursive: true });
  fs.symlinkSync(hostDir, path.join(c.rootfs, 'mnt', 'abs'));
  fs.symlinkSync(`../../../../../../..${hostDir}/deeper`, path.join(c.rootfs, 'mnt', 'rel'));
  const r = await runOps(containerOps(c.rootfs, {
    args: ['sh', '-c', `cat ${hostDir}/marker; ls ${hostDir}/deeper; grep -c carton-test-hostdir /proc/self/mountinfo; touch /mnt/abs/written`],
    mounts: [
      mount('mounts[4] (/mnt/abs)', src, '/mnt/abs', '', MS.BIND | MS.REC),
      mount('mounts[5] (/mnt/rel)', 'tmpfs', '/mnt/rel', 'tmpfs', 0),
    ],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 0 }, r.err);
  assert.equal(r.out, 'from-bind\n2\n');
  assert.deepEqual(fs.readdirSync(hostDir), [], 'the host dir is untouched');
  assert.ok(fs.existsSync(path.join(src, 'written')), 'the bind landed inside the rootfs');
  // /mnt/rel resolves (in root) to <root>/<hostDir>/deeper, which is now inside the bind of src.
  assert.ok(fs.statSync(path.join(src, 'deeper')).isDirectory(), 'missing target created inside the rootfs');
});

test('read-only binds: MS_RDONLY on a bind is applied by a remount', async (t) => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-src-'));
  t.after(() => fs.rmSync(src, { recursive: true, force: true }));
  const r = await runOps(containerOps(c.rootfs, {
    args: ['sh', '-c', 'touch /ro/x 2>/dev/null && echo writable || echo readonly; grep " /ro " /proc/self/mountinfo | cut -d" " -f6'],
    mounts: [
      mount('mounts[4] (/ro)', src, '/ro', '', MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID),
      { op: OpCode.MOUNT_SETATTR, source: 'mounts[4] (/ro)', target: '/ro', targetKind: MountTargetKind.IN_ROOT, attrSet: 0x8, attrClear: 0, propagation: MS.PRIVATE, recursive: true },
    ],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.out, 'readonly\nro,nosuid,noexec,relatime\n');
});

test('file bind targets are created, also behind a dangling symlink (resolv.conf → /run/systemd/...)', async (t) => {
  const src = path.join(c.dir, 'carton-test-resolv.conf');
  fs.writeFileSync(src, 'nameserver 192.0.2.1\n');
  const link = path.join(c.rootfs, 'etc', 'resolv.conf');
  fs.symlinkSync('/run/systemd/resolve/stub-resolv.conf', link);
  t.after(() => { fs.rmSync(link, { force: true }); fs.rmSync(path.join(c.rootfs, 'run'), { recursive: true, force: true }); fs.rmSync(src); });
  const r = await runOps(containerOps(c.rootfs, {
    args: ['sh', '-c', 'cat /etc/resolv.conf /etc/carton/new-file; stat -c %F /run/systemd/resolve/stub-resolv.conf'],
    mounts: [
      mount('mounts[4] (/etc/resolv.conf)', src, '/etc/resolv.conf', '', MS.BIND, '', MountTargetKind.IN_ROOT_CREATE_FILE),
      mount('mounts[5] (/etc/carton/new-file)', src, '/etc/carton/new-file', '', MS.BIND | MS.RDONLY, '', MountTargetKind.IN_ROOT_CREATE_FILE),
    ],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.out, 'nameserver 192.0.2.1\nnameserver 192.0.2.1\nregular file\n');
  assert.ok(fs.statSync(path.join(c.rootfs, 'run/systemd/resolve/stub-resolv.conf')).isFile(), 'created inside the rootfs');
  fs.rmSync(path.join(c.rootfs, 'etc', 'carton'), { recursive: true });
});
