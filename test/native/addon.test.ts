/** The N-API addon against the real kernel (root). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { addon, recvFdAsync } from '../../src/native/addon';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-addon-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function mounted(p: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);
}

test('mount and umount2 a tmpfs; errors carry code, errno and syscall', (t) => {
  const target = fs.mkdtempSync(path.join(dir, 'mnt-'));
  t.after(() => { if (mounted(target)) addon().umount2(target, 2); });
  addon().mount('carton-test', target, 'tmpfs', 0, 'size=1m,mode=700');
  assert.ok(mounted(target));
  addon().umount2(target, 0);
  assert.ok(!mounted(target));
  assert.throws(() => addon().mount(null, path.join(dir, 'absent'), 'tmpfs', 0, null), (e: NodeJS.ErrnoException) =>
    e.code === 'ENOENT' && e.errno === -2 && e.syscall === 'mount' && e.path === path.join(dir, 'absent'));
  assert.throws(() => (addon().mount as unknown as (a: number) => void)(1), TypeError);
});

test('setWinsize sizes a pty', () => {
  const master = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  try {
    addon().setWinsize(master, 40, 132);
    const r = spawnSync('stty', ['size'], { stdio: [master, 'pipe', 'pipe'], encoding: 'utf8' });
    assert.equal(r.stdout, '40 132\n', r.stderr);
  } finally {
    fs.closeSync(master);
  }
  assert.throws(() => addon().setWinsize(0x7fff, 1, 1), { code: 'EBADF' });
});

test('mknod makes a character device', () => {
  const p = path.join(dir, 'null');
  addon().mknod(p, 0o020666, 1, 3);
  const st = fs.statSync(p);
  assert.ok(st.isCharacterDevice());
  assert.equal(st.rdev, (1 << 8) | 3);
  assert.throws(() => addon().mknod(p, 0o020666, 1, 3), { code: 'EEXIST' });
});

test('xattrs: set, get, list, remove; absent → null', () => {
  const f = path.join(dir, 'x');
  fs.writeFileSync(f, '');
  addon().lsetxattr(f, 'user.carton', Buffer.from('v1'));
  assert.deepEqual(addon().lgetxattr(f, 'user.carton'), Buffer.from('v1'));
  assert.ok(addon().llistxattr(f).includes('user.carton'));
  addon().lremovexattr(f, 'user.carton');
  assert.equal(addon().lgetxattr(f, 'user.carton'), null);
  assert.throws(() => addon().lremovexattr(f, 'user.carton'), { code: 'ENODATA' });
  const link = path.join(dir, 'link');
  fs.symlinkSync('x', link);
  addon().lsetxattr(link, 'trusted.carton', Buffer.from('on-link'));
  assert.equal(addon().lgetxattr(f, 'trusted.carton'), null, 'l* calls act on the link itself');
  assert.deepEqual(addon().lgetxattr(link, 'trusted.carton'), Buffer.from('on-link'));
});

test('flock: exclusive locks conflict across open file descriptions', () => {
  const f = path.join(dir, 'lock');
  const a = fs.openSync(f, 'w');
  const b = fs.openSync(f, 'r');
  try {
    assert.equal(addon().flock(a, 'ex', true), true);
    assert.equal(addon().flock(b, 'ex', true), false);
    assert.equal(addon().flock(b, 'sh', true), false);
    addon().flock(a, 'un', false);
    assert.equal(addon().flock(b, 'sh', true), true);
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
  }
});

test('sendFd / recvFdMessage pass an fd and a payload over a unix socket; recvFd times out', async (t) => {
  const sockPath = path.join(dir, 'fd.sock');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(sockPath, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(sockPath);
  await new Promise((r) => client.once('connect', r));
  const conn = await accepted;
  t.after(() => { client.destroy(); conn.destroy(); server.close(); });
  const fdOf = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
  const file = path.join(dir, 'passed');
  fs.writeFileSync(file, 'through the socket');
  const fd = fs.openSync(file, 'r');
  addon().sendFd(fdOf(client), fd, Buffer.from('hello'));
  fs.closeSync(fd);
  const got = addon().recvFdMessage(fdOf(conn), 2000);
  assert.equal(got.payload.toString(), 'hello');
  assert.equal(fs.readFileSync(got.fd, 'utf8'), 'through the socket');
  fs.closeSync(got.fd);
  assert.throws(() => addon().recvFd(fdOf(conn), 50), { code: 'ETIMEDOUT' });
  const later = recvFdAsync(fdOf(conn), 2000);
  setTimeout(() => addon().sendFd(fdOf(client), 0), 30);
  const second = await later;
  assert.equal(second.payload.length, 1);
  fs.closeSync(second.fd);
  await assert.rejects(recvFdAsync(fdOf(conn), 30), { code: 'ETIMEDOUT' });
});

test('setChildSubreaper: orphans of a subreaper are re-parented to it', () => {
  const script = `
    const { addon } = require(${JSON.stringify(path.resolve(__dirname, '../../src/native/addon.js'))});
    addon().setChildSubreaper();
    const pid = Number(require('child_process').execSync("sh -c 'sleep 2 >/dev/null 2>&1 & echo $!'").toString());
    const ppid = /PPid:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/' + pid + '/status', 'utf8'))[1];
    process.kill(pid, 'SIGKILL');
    console.log(ppid === String(process.pid) ? 'reparented' : 'not ' + ppid);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'reparented', r.stderr);
});

/** BPF instructions: r0 = imm; exit. */
function returnProgram(value: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0xb7, 0); // BPF_ALU64 | BPF_MOV | BPF_K
  b.writeInt32LE(value, 4);
  b.writeUInt8(0x95, 8); // BPF_JMP | BPF_EXIT
  return b;
}

test('bpfReplaceCgroupDevice: one program at a time, and it decides device access', (t) => {
  const unified = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  const cg = fs.mkdtempSync(path.join(unified, 'carton-test-bpf-'));
  t.after(() => fs.rmdirSync(cg));
  addon().bpfReplaceCgroupDevice(cg, returnProgram(1));
  const first = addon().bpfQueryCgroupDevice(cg);
  assert.equal(first.length, 1);
  addon().bpfReplaceCgroupDevice(cg, returnProgram(0));
  const second = addon().bpfQueryCgroupDevice(cg);
  assert.equal(second.length, 1);
  assert.notEqual(second[0], first[0]);
  const tryDevice = () =>
    spawnSync('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec head -c1 /dev/zero | wc -c`], { encoding: 'utf8' });
  const denied = tryDevice();
  assert.equal(denied.stdout.trim(), '0');
  assert.match(denied.stderr, /Operation not permitted/);
  addon().bpfReplaceCgroupDevice(cg, returnProgram(1));
  assert.equal(tryDevice().stdout.trim(), '1');
  assert.throws(() => addon().bpfReplaceCgroupDevice(cg, Buffer.alloc(7)), TypeError);
  // r0 is never set: the verifier refuses it and says so.
  assert.throws(() => addon().bpfReplaceCgroupDevice(cg, returnProgram(1).subarray(8)), (e: NodeJS.ErrnoException & { verifierLog?: string }) =>
    e.code === 'EACCES' && /R0 !read_ok/.test(e.verifierLog ?? ''));
  assert.equal(addon().bpfQueryCgroupDevice(cg).length, 1, 'a refused program leaves the old one in place');
  assert.throws(() => addon().bpfReplaceCgroupDevice(path.join(cg, 'absent'), returnProgram(1)), { code: 'ENOENT' });
});
