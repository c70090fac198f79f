/**
 * carton-init started through the addon (posix_spawn + socketpair, no child_process):
 * what a FORK WAIT plan without stdio pipes uses. The same results as through
 * child_process: exit codes, signals, fds passed on, and a clean signal state.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ForkMode, OpCode } from '../../src/plan/ops';
import { containerOps, createdAtFifoOps, makeRootfs } from './helpers';
import { startInit, type InitHandle } from '../../src/native/init-driver';

const c = makeRootfs();
after(() => c.cleanup());

/** Run with stdout and stderr going to a file; returns the exit status, the file's text and the handle. */
async function runToFile(args: string[]) {
  const outFile = path.join(c.dir, `out-${Math.random().toString(36).slice(2)}`);
  const out = fs.openSync(outFile, 'w');
  let h: InitHandle;
  try {
    h = startInit({ ops: containerOps(c.rootfs, { args }), stdio: ['ignore', out, out] });
  } finally {
    fs.closeSync(out);
  }
  const exit = await h.exit;
  await h.done;
  return { exit, text: fs.readFileSync(outFile, 'utf8'), h };
}

test('a FORK WAIT plan with file stdio is started through the addon and reports exit codes', async () => {
  const r = await runToFile(['sh', '-c', 'echo hello; exit 7']);
  assert.equal(r.h.spawnedWith, 'addon');
  assert.deepEqual(r.exit, { code: 7 });
  assert.equal(r.text, 'hello\n');
  assert.equal(r.h.stdout, null);
});

test('through the addon, a container killed by a signal reports 128+signal', async () => {
  const h = startInit({ ops: containerOps(c.rootfs, { args: ['sleep', '30'] }), stdio: ['ignore', 'ignore', 'ignore'] });
  assert.equal(h.spawnedWith, 'addon');
  await h.ready;
  await h.containerPid;
  h.kill('SIGKILL');
  assert.deepEqual(await h.exit, { code: 137, signal: 'SIGKILL' });
  await h.done;
});

test('the container gets default signal dispositions and an empty mask, not Node\'s ignored SIGPIPE', async () => {
  const r = await runToFile(['grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status']);
  assert.equal(r.h.spawnedWith, 'addon');
  assert.match(r.text, /SigBlk:\t0000000000000000/);
  assert.match(r.text, /SigIgn:\t0000000000000000/);
});

test('an fd of this process given as stdin reaches the container', async (t) => {
  const marker = path.join(c.dir, 'marker');
  fs.writeFileSync(marker, 'marker-content\n');
  const fd = fs.openSync(marker, 'r');
  t.after(() => fs.closeSync(fd));
  const outFile = path.join(c.dir, 'out-stdin');
  const out = fs.openSync(outFile, 'w');
  const h = startInit({ ops: containerOps(c.rootfs, { args: ['cat'] }), stdio: [fd, out, out] });
  fs.closeSync(out);
  assert.equal(h.spawnedWith, 'addon');
  assert.deepEqual(await h.exit, { code: 0 });
  await h.done;
  assert.equal(fs.readFileSync(outFile, 'utf8'), 'marker-content\n');
});

test('a missing init binary fails the run with a clear error through the addon too', async () => {
  const h = startInit({ ops: containerOps(c.rootfs, { args: ['true'] }), stdio: ['ignore', 'ignore', 'ignore'], initPath: path.join(c.dir, 'no-such-init') });
  await assert.rejects(h.done, (e: Error & { code?: string }) => e.code === 'EINTERNAL' && /cannot start carton-init: .*ENOENT/.test(e.message));
  assert.equal(h.spawnedWith, 'addon');
});

test('stdio pipes and plans without FORK still go through child_process', async () => {
  const h = startInit({ ops: containerOps(c.rootfs, { args: ['true'], fork: ForkMode.WAIT }), stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(h.spawnedWith, 'child_process');
  h.stdout?.resume();
  h.stderr?.resume();
  await h.exit;
  await h.done;
  const n = startInit({ ops: [{ op: OpCode.EXEC, source: 'process.args', argv: ['/bin/true'], env: [] }], stdio: ['ignore', 'ignore', 'ignore'] });
  assert.equal(n.spawnedWith, 'child_process');
  await n.done;
});

test('a DETACH plan through the addon: pid and READY arrive, unref lets go, ref and done follow the container', async (t) => {
  const fifo = path.join(c.dir, 'exec.fifo');
  const outFile = path.join(c.dir, 'out-detach');
  const out = fs.openSync(outFile, 'w');
  let pid = 0;
  t.after(() => {
    fs.closeSync(out);
    fs.rmSync(fifo, { force: true });
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  require('child_process').execFileSync('mkfifo', [fifo]);
  const h = startInit({
    ops: createdAtFifoOps(c.rootfs, fifo),
    stdio: ['ignore', out, out],
  });
  assert.equal(h.spawnedWith, 'addon');
  pid = await h.containerPid;
  await h.ready;
  assert.equal(fs.readFileSync(outFile, 'utf8'), '', 'nothing ran before start');
  h.ref();
  const fd = fs.openSync(fifo, 'r');
  assert.equal(fs.readFileSync(fd, 'utf8'), '0');
  fs.closeSync(fd);
  await h.done;
  for (let i = 0; i < 200 && fs.readFileSync(outFile, 'utf8') === ''; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(fs.readFileSync(outFile, 'utf8'), 'started\n');
});
