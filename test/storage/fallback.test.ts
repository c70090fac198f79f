/**
 * The store without the native addon (CARTON_STORE_NO_ADDON=1): device nodes and whiteouts
 * through mknod(1), xattrs through python3, overlay through mount(8), and the O_EXCL lock
 * file with stale-holder detection. Same results as with the addon.
 */
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, test } from 'node:test';
import { StoreLock } from '../../src/storage/lock';
import { openStore, Store } from '../../src/storage/store';
import { getXattrs, isMounted, splitDev } from '../../src/storage/sys';
import { addImage, busyboxEntries, tarOf, tempDir } from './fixtures';

process.env.CARTON_STORE_NO_ADDON = '1';

let tmp: { dir: string; cleanup: () => void };
let store: Store;

before(() => {
  tmp = tempDir('fallback');
  store = openStore(path.join(tmp.dir, 'root'));
});
after(() => tmp.cleanup());

test('layers and snapshots work through the spawn fallbacks', async (t) => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const img = await addImage(store, [
    tarOf([...busyboxEntries(), { name: 'var/x/old', type: 'file', data: 'o' }, { name: 'etc/motd', type: 'file', data: 'm' }]),
    tarOf([
      { name: 'dev/null', type: 'chardev', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'bin/ping', type: 'file', mode: 0o755, data: 'p', xattrs: { 'security.capability': cap } },
      { name: 'etc/.wh.motd', type: 'file', data: '' },
      { name: 'var/x/.wh..wh..opq', type: 'file', data: '' },
      { name: 'var/x/new', type: 'file', data: 'n' },
    ]),
  ], { names: ['fallback:1'] });
  const top = store.layers.get(img.layers[1].chainId)!.diffDir;
  assert.deepEqual(splitDev(fs.lstatSync(path.join(top, 'dev/null')).rdev), { major: 1, minor: 3 });
  assert.ok(fs.lstatSync(path.join(top, 'run/fifo')).isFIFO());
  assert.deepEqual(getXattrs([path.join(top, 'bin/ping')]).get(path.join(top, 'bin/ping'))?.get('security.capability'), cap);
  const snap = await store.snapshots.prepare('carton-test-fallback', img.id);
  t.after(() => snap.cleanup());
  assert.ok(isMounted(snap.rootfs));
  assert.ok(!fs.existsSync(path.join(snap.rootfs, 'etc/motd')));
  assert.deepEqual(fs.readdirSync(path.join(snap.rootfs, 'var/x')), ['new']);
  await snap.cleanup();
  assert.ok(!isMounted(snap.rootfs));
});

test('the lock file excludes other processes and is broken when its holder died', async () => {
  const file = path.join(tmp.dir, 'test.lock');
  const lock = new StoreLock(file, 3000);
  // a holder that is gone (a pid that is not running, or running with another start time)
  fs.writeFileSync(`${file}.pid`, '999999999 12345');
  const release = await lock.acquire('ex');
  assert.match(fs.readFileSync(`${file}.pid`, 'utf8'), new RegExp(`^${process.pid} `));
  // a live holder in another process keeps us out until it lets go
  release();
  const child = spawn(process.execPath, ['-e', `
    const { StoreLock } = require(${JSON.stringify(path.resolve(__dirname, '../../src/storage/lock.js'))});
    new StoreLock(${JSON.stringify(file)}).acquire('ex').then((r) => { console.log('held'); setTimeout(() => { r(); console.log('released'); }, 700); });
  `], { env: { ...process.env, CARTON_STORE_NO_ADDON: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise((r) => child.on('close', r));
  let out = '';
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => { out += d; if (out.includes('held')) resolve(); }));
  const t0 = Date.now();
  const r2 = await lock.acquire('ex');
  const waited = Date.now() - t0;
  r2();
  await closed;
  assert.ok(waited >= 500, `waited ${waited} ms for the other holder`);
  assert.match(out, /released/);
  assert.ok(!fs.existsSync(`${file}.pid`));
});
