/**
 * `carton run` through prestarted workers (docs/prestart.md), the client as users run it
 * (bin/carton): exit statuses, piped stdin, a real terminal with its size, the record
 * `ps -a` shows; each served by a worker, as the client's debug line proves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cartonEnv, CartonEnv } from '../carton/helpers';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { runInPty } from '../helpers/pty';
import { REPO } from '../runtime/helpers';
import { PoolHandle, startPool } from '../../src/prestart/pool-control';

const CARTON_CMD = path.join(REPO, 'bin', 'carton');
const quietEnv = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
const poolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-prestart-'));
let pool: PoolHandle;
let env: CartonEnv;
let rootfs: string;

before(async () => {
  env = cartonEnv();
  rootfs = makeBusyboxRootfs(fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-rootfs-')));
  fs.chmodSync(rootfs, 0o755);
  pool = startPool(REPO, poolDir, 1, quietEnv);
  assert.ok(await pool.waitFull(), 'prestart pool ready');
});

after(async () => {
  await pool?.stop();
  await env.cleanup();
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(poolDir, { recursive: true, force: true });
});

const globals = (): string[] => ['--root', env.root, '--runroot', env.runroot];
const callerEnv = (): NodeJS.ProcessEnv => ({ ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' });

async function carton(args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string; served: boolean }> {
  assert.ok(await pool.waitFull());
  const withParent = args[0] === 'run' ? ['run', '--cgroup-parent', env.cgroupParent, ...args.slice(1)] : args;
  const r = spawnSync(CARTON_CMD, [...globals(), ...withParent], { encoding: 'utf8', input, timeout: 30_000, env: callerEnv() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, served: /carton: prestarted worker \d+/.test(r.stderr) };
}

test('run --rm: the container\'s exit status and output; 127 for a command that is not there', async () => {
  const r = await carton(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'echo hi; exit 4']);
  assert.ok(r.served, r.stderr);
  assert.equal(r.status, 4, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  const missing = await carton(['run', '--rm', '--rootfs', rootfs, 'no-such-command']);
  assert.ok(missing.served);
  assert.equal(missing.status, 127);
  assert.match(missing.stderr, /executable file not found/);
});

test('-i pipes the caller\'s stdin to the container', async () => {
  const r = await carton(['run', '--rm', '-i', '--rootfs', rootfs, 'cat'], 'piped\n');
  assert.ok(r.served, r.stderr);
  assert.equal(r.stdout, 'piped\n');
});

test('-it: the caller\'s terminal, raw and sized, reaches the container', async () => {
  assert.ok(await pool.waitFull());
  const cmd = `stty rows 33 cols 77; ${CARTON_CMD} ${globals().join(' ')} run --rm -it --cgroup-parent ${env.cgroupParent} --rootfs ${rootfs} sh -c 'tty; stty size'`;
  const r = await runInPty(cmd, { timeoutMs: 30_000, env: callerEnv() });
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /prestarted worker/);
  assert.match(r.output, /\/dev\/pts\/0\r*\n/);
  assert.match(r.output, /33 77/);
});

test('run without --rm leaves the record ps -a shows, and rm removes it', async () => {
  const r = await carton(['run', '--name', 'pst-record', '--rootfs', rootfs, 'true']);
  assert.equal(r.status, 0, r.stderr);
  const ps = await carton(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  assert.ok(ps.served);
  assert.match(ps.stdout, /^pst-record Exited \(0\)/m);
  assert.equal((await carton(['rm', 'pst-record'])).status, 0);
  assert.doesNotMatch((await carton(['ps', '-a'])).stdout, /pst-record/);
});
