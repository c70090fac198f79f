/** carton-init: create/start split, console socket, SYNC, sealed re-exec, failures. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ForkMode, OpCode, S_IF } from '../../src/plan/ops';
import { startInit } from '../../src/native/init-driver';
import { CartonError } from '../../src/common/errors';
import { containerOps, createdAtFifoOps, makeRootfs, receiveFdOnce, runOps } from './helpers';

const c = makeRootfs();
after(() => c.cleanup());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('create/start: READY, then WAIT_START blocks until the fifo is opened for reading', async (t) => {
  const fifo = path.join(c.dir, 'exec.fifo');
  const outFile = path.join(c.dir, 'create-start.out');
  execFileSync('mkfifo', ['-m', '0622', fifo]);
  const out = fs.openSync(outFile, 'w');
  let pid = 0;
  t.after(() => {
    fs.closeSync(out);
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const h = startInit({
    ops: createdAtFifoOps(c.rootfs, fifo),
    stdio: ['ignore', out, out],
  });
  pid = await h.containerPid;
  await h.ready;
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(pid), 'the container waits');
  assert.equal(fs.readFileSync(outFile, 'utf8'), '', 'nothing ran before start');
  assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^carton-init|\/carton-init/);
  h.ref();
  const fd = fs.openSync(fifo, 'r');
  assert.equal(fs.readFileSync(fd, 'utf8'), '0');
  fs.closeSync(fd);
  await h.done;
  await waitFor(() => fs.readFileSync(outFile, 'utf8') === 'started\n');
});

test('console: the pty master arrives over the console socket and carries the output', async (t) => {
  const sockPath = path.join(c.dir, 'console.sock');
  const server = net.createServer({ pauseOnConnect: true });
  t.after(() => server.close());
  await new Promise<void>((r) => server.listen(sockPath, r));
  const master = receiveFdOnce(server);
  const h = startInit({
    ops: containerOps(c.rootfs, {
      args: ['sh', '-c', 'tty; stty size; stat -c %t /dev/console; echo console-ok'],
      afterFork: [{ op: OpCode.CONSOLE_SOCKET, source: '--console-socket', path: sockPath }],
      mounts: [{ op: OpCode.MKNOD, source: 'console', path: '/dev/console', mode: S_IF.CHR | 0o600, major: 5, minor: 1, uid: 0, gid: 0, bindFallback: '' }],
      process: [{ op: OpCode.CONSOLE, source: 'process.terminal', rows: 33, cols: 101 }],
    }),
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const m = await master;
  t.after(() => fs.closeSync(m.fd));
  assert.match(m.payload.toString(), /^\/dev\/pts\/\d+$/);
  let text = '';
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = await new Promise<number>((resolve) => fs.read(m.fd, buf, 0, buf.length, null, (err, got) => resolve(err ? 0 : got)));
    if (n === 0) break;
    text += buf.subarray(0, n).toString();
  }
  assert.deepEqual(await h.exit, { code: 0 });
  assert.equal(text.replace(/\r/g, ''), '/dev/pts/0\n33 101\n88\nconsole-ok\n');
});

test('SYNC blocks the init, which runs from a sealed memfd, until CONTINUE', async () => {
  let seen = '';
  const h = startInit({
    ops: [{ op: OpCode.SYNC, source: 'probe', tag: 'probe' }],
    onSync: async (tag, index) => {
      const exe = fs.readlinkSync(`/proc/${h.initPid}/exe`);
      seen = `${tag} ${index} ${exe} env=${fs.readFileSync(`/proc/${h.initPid}/environ`, 'utf8')}`;
    },
  });
  await h.done;
  assert.match(seen, /^probe 0 \/memfd:carton-init \(deleted\) env=CARTON_INIT_FD=3\0$/);
  assert.deepEqual(await h.exit, { code: 0 });
});

test('a rejected SYNC aborts the run with that error; beforePlan sees the init first', async () => {
  let placed = 0;
  const r = await runOps(containerOps(c.rootfs, {
    args: ['true'],
    process: [{ op: OpCode.SYNC, source: 'hooks.createContainer', tag: 'createContainer' }],
  }), {
    beforePlan: (pid) => { placed = pid; },
    onSync: async () => { throw new CartonError('EHOOK', 'hook failed'); },
  });
  assert.ok(placed > 0);
  assert.equal(r.error?.code, 'EHOOK');
});

test('an init killed without a report is an internal error with its status', async () => {
  const h = startInit({
    ops: [{ op: OpCode.SYNC, source: 'probe', tag: 'probe' }],
    onSync: async () => { process.kill(h.initPid, 'SIGKILL'); await new Promise((r) => setTimeout(r, 1000)); },
  });
  await assert.rejects(h.done, (e: CartonError) => e.code === 'EINTERNAL' && /signal SIGKILL/.test(e.message));
});

test('spawn to exec is fast', async (t) => {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const h = startInit({ ops: [{ op: OpCode.EXEC, source: 'process.args', argv: ['/bin/true'], env: [] }], stdio: ['ignore', 'ignore', 'ignore'] });
    await h.done;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  t.diagnostic(`spawn → exec → exit of /bin/true: median ${times[2].toFixed(1)} ms (${times.map((x) => x.toFixed(1)).join(', ')})`);
  assert.ok(times[2] < 100, `median ${times[2]} ms`);
});

test('exec failure after fork: ERROR then exit 127 in WAIT mode', async () => {
  const r = await runOps([
    { op: OpCode.FORK, source: 'fork', mode: ForkMode.WAIT },
    { op: OpCode.EXEC, source: 'process.args', argv: ['/nonexistent-carton-test'], env: [] },
  ]);
  assert.equal(r.error?.code, 'EEXEC_NOTFOUND');
  assert.equal(os.platform(), 'linux');
});

test('without READY (exec), ready resolves once the forked process has exec\'d, long before it exits', async () => {
  const h = startInit({
    ops: [
      { op: OpCode.FORK, source: 'fork', mode: ForkMode.WAIT },
      { op: OpCode.EXEC, source: 'process.args', argv: ['/bin/sleep', '0.5'], env: [] },
    ],
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  let exited = false;
  void h.exit.then(() => { exited = true; });
  await h.ready;
  assert.equal(exited, false);
  const pid = await h.containerPid;
  assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^\/bin\/sleep\0/);
  h.kill('SIGTERM');
  assert.deepEqual(await h.exit, { code: 143, signal: 'SIGTERM' });
  await h.done;
});

test('a failing beforePlan kills the init before any op runs; a missing binary is an internal error', async () => {
  const marker = path.join(c.dir, 'never-written');
  const h = startInit({
    ops: [{ op: OpCode.WRITE_FILE, source: 'x', path: marker, content: 'x' }],
    beforePlan: () => { throw new CartonError('EKERNEL', 'cgroup placement failed'); },
  });
  await assert.rejects(h.done, { message: 'cgroup placement failed' });
  assert.equal(fs.existsSync(marker), false);
  const missing = startInit({ ops: [], initPath: path.join(c.dir, 'no-such-init') });
  await assert.rejects(missing.done, (e: CartonError) => e.code === 'EINTERNAL' && /cannot start carton-init/.test(e.message));
});

test('FORK WAIT: SIGTERM/SIGINT to the waiting parent do not lose the child\'s exit status', async () => {
  const h = startInit({
    ops: [
      { op: OpCode.FORK, source: 'fork', mode: ForkMode.WAIT },
      { op: OpCode.EXEC, source: 'process.args', argv: ['/bin/sleep', '5'], env: [] },
    ],
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await h.ready;
  process.kill(h.initPid, 'SIGTERM');
  process.kill(h.initPid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(h.initPid), 'the waiting parent is still there');
  h.kill('SIGKILL');
  assert.deepEqual(await h.exit, { code: 137, signal: 'SIGKILL' });
  await h.done;
});
