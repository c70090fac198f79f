import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { runInPty } from '../helpers/pty';
import { CartonEnv, CARTON_MAIN, cartonEnv, leftovers } from './helpers';

let env: CartonEnv;
let rootfs: string;
let hostDir: string;

before(() => {
  env = cartonEnv();
  rootfs = makeBusyboxRootfs(fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-rootfs-')));
  // mkdtemp makes 0700; a root filesystem must let other users in.
  fs.chmodSync(rootfs, 0o755);
  hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-bind-'));
  fs.writeFileSync(path.join(hostDir, 'f'), 'from the host\n');
});

after(async () => {
  await env.cleanup();
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(hostDir, { recursive: true, force: true });
});

/** The container's first line of output; rejects (with carton's stderr) if carton exits first. */
function firstLine(child: ReturnType<CartonEnv['start']>): Promise<string> {
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`carton exited ${code} before the container wrote: ${err}`)));
  });
}

const run = (flags: string[], cmd: string[], input?: string) => env.run(['run', ...flags, '--rootfs', rootfs, ...cmd], input);

test('exit codes: the container\'s, 127 not found, 126 not executable, 125 carton\'s own errors', () => {
  assert.equal(run(['--rm'], ['true']).status, 0);
  assert.equal(run(['--rm'], ['sh', '-c', 'exit 3']).status, 3);
  const nf = run(['--rm'], ['nosuch']);
  assert.equal(nf.status, 127);
  assert.match(nf.stderr, /^carton: .*exec: "nosuch": executable file not found in \$PATH/m);
  fs.writeFileSync(path.join(rootfs, 'notexec'), 'data');
  const ne = run(['--rm'], ['/notexec']);
  assert.equal(ne.status, 126);
  assert.match(ne.stderr, /permission denied/);
  const bad = run(['--rm', '-u', 'foo'], ['true']);
  assert.equal(bad.status, 125);
  assert.equal(bad.stderr, 'carton: unable to find user foo: no matching entries in passwd file\n');
  assert.equal(env.run(['run', '--bogus', 'x']).status, 125);
});

test('-e, -w and -u shape the process; HOSTNAME and HOME are set as Docker does', () => {
  const r = run(['--rm', '-e', 'FOO=bar', '-w', '/work/dir', '-u', 'user', '--hostname', 'box'], ['sh', '-c', 'echo $FOO; pwd; id -u; id -g; echo $HOME; hostname; echo $HOSTNAME']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'bar\n/work/dir\n1000\n1000\n/home/user\nbox\nbox\n');
  const numeric = run(['--rm', '-u', '4242:4343'], ['sh', '-c', 'id -u; id -g']);
  assert.equal(numeric.stdout, '4242\n4343\n');
});

test('--rm leaves no record, bundle, mount or cgroup; without it the record stays for ps -a and rm', () => {
  const r = run(['--rm', '-m', '32m'], ['cat', '/etc/hostname']);
  assert.equal(r.status, 0, r.stderr);
  const short = r.stdout.trim();
  assert.match(short, /^[0-9a-f]{12}$/);
  assert.deepEqual(leftovers(short), []);
  assert.deepEqual(fs.readdirSync(path.join(env.root, 'containers')), []);
  assert.deepEqual(fs.readdirSync(path.join(env.runroot, 'bundles')), []);

  const kept = run(['--name', 'carton-test-kept'], ['sh', '-c', 'cat /etc/hostname; exit 3']);
  assert.equal(kept.status, 3);
  const id = kept.stdout.trim();
  assert.deepEqual(leftovers(id), []);
  const ps = env.run(['ps', '-a']);
  assert.match(ps.stdout, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n/);
  assert.match(ps.stdout, new RegExp(`${id} .*"sh -c cat /etc/host…" .*Exited \\(3\\) .* ago +carton-test-kept\\n`));
  assert.equal(env.run(['ps', '-q']).stdout, '');
  const json = JSON.parse(env.run(['ps', '-a', '--format', '{{json .}}']).stdout);
  assert.equal(json.Names, 'carton-test-kept');
  assert.equal(json.State, 'exited');
  const dup = run(['--name', 'carton-test-kept'], ['true']);
  assert.equal(dup.status, 125);
  assert.match(dup.stderr, /Conflict. The container name "\/carton-test-kept" is already in use/);
  assert.equal(env.run(['rm', 'carton-test-kept']).stdout, 'carton-test-kept\n');
  assert.equal(env.run(['ps', '-aq']).stdout, '');
  const missing = env.run(['rm', 'carton-test-kept']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /No such container: carton-test-kept/);
});

test('-v bind (ro), --read-only, --tmpfs and --network none', () => {
  const r = run(['--rm', '-v', `${hostDir}:/mnt:ro`, '--read-only', '--tmpfs', '/scratch', '--network', 'none'], [
    'sh', '-c', 'cat /mnt/f; touch /mnt/x 2>/dev/null || echo mnt-ro; touch /y 2>/dev/null || echo root-ro; touch /scratch/z && echo tmpfs-rw; ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags',
  ]);
  assert.equal(r.status, 0, r.stderr);
  // Only loopback, and it is up (flags has IFF_UP), as in Docker's --network none.
  assert.match(r.stdout, /^from the host\nmnt-ro\nroot-ro\ntmpfs-rw\nlo\n(unknown|up)\n0x\d*[13579bdf]\n$/);
  const rw = run(['--rm', '-v', `${hostDir}:/mnt`], ['sh', '-c', 'echo written > /mnt/g']);
  assert.equal(rw.status, 0, rw.stderr);
  assert.equal(fs.readFileSync(path.join(hostDir, 'g'), 'utf8'), 'written\n');
});

test('the memory and pids limits are readable in the container\'s own /sys/fs/cgroup', () => {
  const r = run(['--rm', '-m', '64m', '--pids-limit', '42'], ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${64 * 1024 * 1024}\n42\n`);
});

test('SIGINT to carton reaches the container', async () => {
  const child = env.start(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready; while true; do sleep 0.1; done']);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  // If carton died instead, the container would still hold the pipe: do not wait for it.
  child.stdout!.destroy();
  child.stderr!.destroy();
  assert.equal(code, 7);
  assert.match(out, /got-int/);
});

test('-it gives the container a terminal (through a real pty)', async () => {
  const cmd = `${process.execPath} ${CARTON_MAIN} --root ${env.root} --runroot ${env.runroot} run --rm -it --rootfs ${rootfs} sh -c 'tty; echo $TERM'`;
  const r = await runInPty(cmd, { timeoutMs: 30_000 });
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /\/dev\/pts\/0\r*\n/);
  assert.match(r.output, /xterm/);
});

test('-i pipes stdin; without -i the container reads an empty stdin', () => {
  assert.equal(run(['--rm', '-i'], ['cat'], 'piped\n').stdout, 'piped\n');
  assert.equal(run(['--rm'], ['cat'], 'piped\n').stdout, '');
});

test('capabilities, seccomp, no-new-privileges and --privileged reach the process', () => {
  const status = (flags: string[]): string => {
    const r = run(['--rm', ...flags], ['cat', '/proc/self/status']);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const field = (text: string, name: string): string => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(text)![1];
  const dflt = status([]);
  assert.equal(field(dflt, 'CapEff'), '00000000a80425fb'); // Docker's 14
  assert.equal(field(dflt, 'Seccomp'), '2');
  assert.equal(field(dflt, 'NoNewPrivs'), '0');
  assert.equal(field(status(['--cap-drop', 'ALL', '--cap-add', 'chown']), 'CapEff'), '0000000000000001');
  const loose = status(['--security-opt', 'seccomp=unconfined', '--security-opt', 'no-new-privileges']);
  assert.equal(field(loose, 'Seccomp'), '0');
  assert.equal(field(loose, 'NoNewPrivs'), '1');
  const priv = run(['--rm', '--privileged'], ['sh', '-c', 'grep Seccomp: /proc/self/status; cat /sys/fs/cgroup/devices/devices.list; touch /sys/kernel 2>&1 | grep -c Read-only; true']);
  assert.equal(priv.status, 0, priv.stderr);
  assert.match(priv.stdout, /^Seccomp:\s+0\na \*:\* rwm\n0\n$/);
  // Docker's profile lets a container with CAP_SYS_ADMIN mount; without it, mount is refused.
  const mount = ['sh', '-c', 'mkdir -p /m && mount -t tmpfs none /m 2>/dev/null && echo mounted || echo refused'];
  assert.equal(run(['--rm', '--cap-add', 'SYS_ADMIN'], mount).stdout, 'mounted\n');
  assert.equal(run(['--rm'], mount).stdout, 'refused\n');
  // Masked paths are masked without --privileged.
  assert.equal(run(['--rm'], ['sh', '-c', 'wc -c < /proc/timer_list']).stdout.trim(), '0');
  assert.notEqual(run(['--rm', '--privileged'], ['sh', '-c', 'wc -c < /proc/timer_list']).stdout.trim(), '0');
});

test('--env-file, --mount type=bind,readonly and --cpus', () => {
  fs.writeFileSync(path.join(hostDir, 'env'), 'A=1\n# comment\nB=two\n');
  const r = run(['--rm', '--env-file', path.join(hostDir, 'env'), '-e', 'B=three', '--mount', `type=bind,src=${hostDir},dst=/p,readonly`, '--cpus', '0.5'], [
    'sh', '-c', 'echo $A $B; cat /p/f; touch /p/x 2>/dev/null || echo p-ro; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1 three\nfrom the host\np-ro\n50000\n');
  const missing = run(['--rm', '--mount', 'type=bind,src=/nonexistent-carton-test,dst=/p'], ['true']);
  assert.equal(missing.status, 125);
  assert.match(missing.stderr, /bind source path does not exist: \/nonexistent-carton-test/);
});

test('ps shows a running container as Up; rm refuses it, rm -f kills it and leaves nothing', async () => {
  const child = env.start(['run', '--name', 'carton-test-live', '--rootfs', rootfs, 'sh', '-c', 'cat /etc/hostname; exec sleep 60']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const short = await firstLine(child);
  try {
    assert.match(env.run(['ps']).stdout, new RegExp(`${short} .* Up .* carton-test-live\\n`));
    const refused = env.run(['rm', 'carton-test-live']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
    const forced = env.run(['rm', '-f', 'carton-test-live']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.stdout, 'carton-test-live\n');
    assert.equal(await exited, 137);
    assert.deepEqual(leftovers(short), []);
    assert.equal(env.run(['ps', '-aq']).stdout, '');
  } finally {
    child.kill('SIGKILL');
    child.stdout!.destroy();
    child.stderr!.destroy();
  }
});

test('a carton run killed with SIGKILL: ps -a says Exited (255), rm removes the orphaned container', async () => {
  const child = env.start(['run', '--name', 'carton-test-crash', '--rootfs', rootfs, 'sh', '-c', 'cat /etc/hostname; exec sleep 60']);
  const short = await firstLine(child);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  child.stdout!.destroy();
  child.stderr!.destroy();
  assert.match(env.run(['ps', '-a']).stdout, new RegExp(`${short} .* Exited \\(255\\) .* carton-test-crash\\n`));
  const rm = env.run(['rm', 'carton-test-crash']);
  assert.equal(rm.status, 0, rm.stderr);
  assert.deepEqual(leftovers(short), []);
  assert.deepEqual(fs.readdirSync(path.join(env.runroot, 'runtime')), []);
});

test('--network host shares the host\'s interfaces and name; named volumes outlive their container', () => {
  const host = run(['--rm', '--network', 'host'], ['sh', '-c', 'hostname; ls /sys/class/net | wc -l']);
  assert.equal(host.status, 0, host.stderr);
  const [name, count] = host.stdout.trim().split('\n');
  assert.equal(name, os.hostname());
  assert.equal(Number(count), fs.readdirSync('/sys/class/net').length);
  assert.equal(run(['--rm', '-v', 'carton-test-vol:/data'], ['sh', '-c', 'echo kept > /data/f']).status, 0);
  const again = run(['--rm', '-v', 'carton-test-vol:/data:ro'], ['cat', '/data/f']);
  assert.equal(again.stdout, 'kept\n', again.stderr);
  assert.equal(fs.readFileSync(path.join(env.root, 'volumes', 'carton-test-vol', '_data', 'f'), 'utf8'), 'kept\n');
});

test('an anonymous volume starts as a copy of the image\'s directory, owners and modes kept; --rm removes it', () => {
  const home = path.join(rootfs, 'home', 'user');
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'profile'), 'seeded\n');
  fs.chownSync(home, 1000, 1000);
  fs.chmodSync(home, 0o700);
  const r = run(['--rm', '-v', '/home/user', '-u', 'user'], ['sh', '-c', 'cat /home/user/profile; touch /home/user/new && stat -c "%u %a" /home/user']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'seeded\n1000 700\n');
  assert.equal(fs.existsSync(path.join(home, 'new')), false);
  const vols = path.join(env.root, 'volumes');
  assert.deepEqual(fs.readdirSync(vols).filter((v) => v !== 'carton-test-vol'), []);
});
