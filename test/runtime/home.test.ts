/**
 * HOME when the config sets none (Docker's configs): the user's home from the
 * container's /etc/passwd, for run and exec, as runc does; "/" when the passwd file is
 * missing or a symlink (it could point at a host file).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { leftovers, runtimeDetached, runtimeFixture, runtimeSync } from './helpers';
import { makeBundle, minimalSpec } from '../helpers/busybox';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());

function bundle(args: string[], uid = 0): string {
  const spec = minimalSpec(args);
  spec.process!.user = { uid, gid: uid };
  const b = makeBundle(spec);
  return fx.keep(b);
}
const id = fx.id;

test('run: HOME comes from /etc/passwd of the rootfs', () => {
  const r = runtimeSync(root, ['run', '-b', bundle(['sh', '-c', 'echo "home=$HOME"']), id('home-root')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'home=/root\n');
  const u = runtimeSync(root, ['run', '-b', bundle(['sh', '-c', 'echo "home=$HOME"'], 1000), id('home-user')]);
  assert.equal(u.status, 0, u.stderr);
  assert.equal(u.stdout, 'home=/home/user\n');
});

test('run: a symlinked /etc/passwd is not read (HOME=/)', () => {
  const b = bundle(['sh', '-c', 'echo "home=$HOME"']);
  const passwd = path.join(b, 'rootfs', 'etc', 'passwd');
  fs.writeFileSync(path.join(b, 'carton-test-host-passwd'), 'root:x:0:0:root:/from-host:/bin/sh\n');
  fs.rmSync(passwd);
  fs.symlinkSync(path.join(b, 'carton-test-host-passwd'), passwd);
  const r = runtimeSync(root, ['run', '-b', b, id('home-link')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'home=/\n');
});

test('exec: HOME of the exec user, an explicit HOME wins', () => {
  const b = bundle(['sleep', '30']);
  const cid = id('home-exec');
  const c = runtimeDetached(root, ['run', '-d', '-b', b, cid]);
  assert.equal(c.status, 0, c.stderr);
  const asRoot = runtimeSync(root, ['exec', cid, 'sh', '-c', 'echo "home=$HOME"']);
  assert.equal(asRoot.stdout, 'home=/root\n', asRoot.stderr);
  const asUser = runtimeSync(root, ['exec', '--user', '1000', cid, 'sh', '-c', 'echo "home=$HOME"']);
  assert.equal(asUser.stdout, 'home=/home/user\n', asUser.stderr);
  const given = runtimeSync(root, ['exec', '--env', 'HOME=/given', cid, 'sh', '-c', 'echo "home=$HOME"']);
  assert.equal(given.stdout, 'home=/given\n', given.stderr);
  assert.equal(runtimeSync(root, ['delete', '--force', cid]).status, 0);
  assert.deepEqual(leftovers(root, cid, b), []);
});
