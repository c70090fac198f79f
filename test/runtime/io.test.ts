/**
 * What crosses from the runtime's caller into the container: stdin piped through
 * run, --preserve-fds, the pty master over --console-socket — and what must not:
 * the runtime's own environment and fds (conmon's _OCI_SYNCPIPE on fd 3).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { addon } from '../../src/native/addon';
import { BIN, leftovers, runtimeDetached, runtimeFixture, runtimeSync, stateOf, waitFor } from './helpers';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());
const bundleFor = fx.bundleFor;
const id = fx.id;

describe('stdio and fds', () => {
  test('stdin is piped through run', () => {
    const b = bundleFor(['sh', '-c', 'tr a-z A-Z']);
    const r = runtimeSync(root, ['run', '-b', b, id('stdin')], { input: 'hello from stdin\n' });
    assert.equal(r.stdout, 'HELLO FROM STDIN\n', r.stderr);
    assert.equal(r.status, 0);
  });

  test("the runtime's environment and fd 3 never reach the container", () => {
    const b = bundleFor(['sh', '-c', 'cat /proc/1/environ | tr "\\0" "\\n"; echo ---; ls /proc/self/fd']);
    const pipeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-fd-'));
    const fd3 = fs.openSync(path.join(pipeDir, 'sync'), 'w');
    try {
      const res = spawnSync(process.execPath, [BIN, '--root', root, 'run', '-b', b, id('env')], {
        stdio: ['ignore', 'pipe', 'pipe', fd3],
        env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', CARTON_TEST_SECRET: 'leak', NODE_EXTRA_CA_CERTS: '' },
        encoding: 'utf8',
      });
      assert.equal(res.status, 0, res.stderr);
      const [env, fds] = res.stdout.split('---\n');
      assert.doesNotMatch(env, /_OCI_|CARTON|NODE_/);
      assert.match(env, /^PATH=/m);
      assert.match(env, /^TERM=xterm$/m);
      // ls itself opens one directory fd (3); nothing else above 2.
      assert.deepEqual(fds.trim().split(/\s+/).map(Number).filter((n) => n > 3), []);
    } finally {
      fs.closeSync(fd3);
      fs.rmSync(pipeDir, { recursive: true, force: true });
    }
  });

  test('--preserve-fds passes fds 3.. through', () => {
    const b = bundleFor(['sh', '-c', 'echo via-fd3 >&3; echo via-fd4 >&4']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-pfd-'));
    const f3 = fs.openSync(path.join(dir, 'three'), 'w');
    const f4 = fs.openSync(path.join(dir, 'four'), 'w');
    try {
      const res = spawnSync(process.execPath, [BIN, '--root', root, 'run', '--preserve-fds', '2', '-b', b, id('pfd')], {
        stdio: ['ignore', 'pipe', 'pipe', f3, f4],
        env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
        encoding: 'utf8',
      });
      assert.equal(res.status, 0, res.stderr);
      assert.equal(fs.readFileSync(path.join(dir, 'three'), 'utf8'), 'via-fd3\n');
      assert.equal(fs.readFileSync(path.join(dir, 'four'), 'utf8'), 'via-fd4\n');
    } finally {
      fs.closeSync(f3);
      fs.closeSync(f4);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('console socket', () => {
  test('the pty master arrives over --console-socket and talks to the container', async () => {
    const b = bundleFor(['sh', '-c', 'tty; read line; echo "got:$line"'], (s) => {
      s.process!.terminal = true;
      s.process!.consoleSize = { height: 30, width: 100 };
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-console-'));
    const sockPath = path.join(dir, 'console.sock');
    const masterFd = new Promise<number>((resolve, reject) => {
      const server = net.createServer((conn) => {
        const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
        try {
          resolve(addon().recvFd(fd, 10_000));
        } catch (err) {
          reject(err);
        }
        conn.destroy();
        server.close();
      });
      server.listen(sockPath);
    });
    await new Promise((r) => setTimeout(r, 50));
    const cid = id('console');
    try {
      const r = runtimeDetached(root, ['create', '--console-socket', sockPath, '-b', b, cid]);
      assert.equal(r.status, 0, r.stderr);
      const fd = await masterFd;
      assert.equal(runtimeSync(root, ['start', cid]).status, 0);
      const stream = fs.createReadStream('', { fd, autoClose: false });
      let out = '';
      stream.on('data', (d) => (out += d));
      stream.on('error', () => {});
      await until(() => out.includes('/dev/pts/'));
      fs.writeSync(fd, 'typed\n');
      await until(() => out.includes('got:typed'));
      assert.match(out, /\/dev\/pts\/0/);
      stream.destroy();
      assert.ok(waitFor(() => stateOf(root, cid).status === 'stopped'));
      assert.equal(runtimeSync(root, ['delete', cid]).status, 0);
      assert.deepEqual(leftovers(root, cid, b), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a terminal with a foreground run and no --console-socket is proxied', async () => {
    const b = bundleFor(['sh', '-c', 'tty; read line; echo "got:$line"'], (s) => (s.process!.terminal = true));
    const child = spawn(process.execPath, [BIN, '--root', root, 'run', '-b', b, id('proxy')], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await until(() => out.includes('/dev/pts/'), 10_000).catch(() => assert.fail(`no tty output; stderr: ${err}`));
    child.stdin.write('piped\n');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.match(out, /got:piped/);
    assert.equal(code, 0, err);
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
