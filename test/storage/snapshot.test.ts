/**
 * Overlay snapshots on the real kernel: the merged view honours whiteouts and opaque
 * directories, writes land in the container's upper dir, 150 lower layers mount (the
 * mount data stays under a page), and remove() unmounts and deletes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, test } from 'node:test';
import { CartonError } from '../../src/common/errors';
import { openStore, Store } from '../../src/storage/store';
import { isMounted } from '../../src/storage/sys';
import { addImage, busyboxEntries, tarOf, tempDir } from './fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;

before(() => {
  tmp = tempDir('snap');
  store = openStore(path.join(tmp.dir, 'root'));
});
after(() => tmp.cleanup());

test('merged view applies whiteouts and opaque dirs; writes go to the upper dir', async (t) => {
  const img = await addImage(store, [
    tarOf([
      ...busyboxEntries(),
      { name: 'etc/motd', type: 'file', data: 'hello' },
      { name: 'var/cache/a', type: 'file', data: 'a' },
      { name: 'var/cache/b', type: 'file', data: 'b' },
      { name: 'var/lib/keep', type: 'file', data: 'k' },
    ]),
    tarOf([
      { name: 'etc/.wh.motd', type: 'file', data: '' },
      { name: 'var/cache/.wh..wh..opq', type: 'file', data: '' },
      { name: 'var/cache/c', type: 'file', data: 'c' },
    ]),
  ], { names: ['snap:1'] });
  const snap = await store.snapshots.prepare('carton-test-snap1', 'snap:1');
  t.after(() => snap.cleanup());
  assert.equal(snap.imageId, img.id);
  assert.ok(isMounted(snap.rootfs));
  assert.equal(fs.existsSync(path.join(snap.rootfs, 'etc/motd')), false);
  assert.deepEqual(fs.readdirSync(path.join(snap.rootfs, 'var/cache')), ['c']);
  assert.deepEqual(fs.readdirSync(path.join(snap.rootfs, 'var/lib')), ['keep']);
  assert.ok(fs.statSync(path.join(snap.rootfs, 'bin/busybox')).isFile());
  // the image's busybox really runs from the merged tree
  const r = spawnSync('chroot', [snap.rootfs, '/bin/sh', '-c', 'echo $(cat /var/cache/c); ls /etc'], { encoding: 'utf8' });
  assert.equal(r.stdout, 'c\ngroup\npasswd\n');
  fs.writeFileSync(path.join(snap.rootfs, 'new-file'), 'x');
  assert.equal(fs.readFileSync(path.join(snap.upperDir, 'new-file'), 'utf8'), 'x');
  for (const l of img.layers) assert.ok(!fs.existsSync(path.join(store.layers.get(l.chainId)!.diffDir, 'new-file')));

  await assert.rejects(store.snapshots.prepare('carton-test-snap1', 'snap:1'), (e: unknown) => e instanceof CartonError && e.code === 'EEXIST');
  await store.snapshots.unmount('carton-test-snap1');
  assert.ok(!isMounted(snap.rootfs));
  const again = await store.snapshots.mount('carton-test-snap1');
  assert.equal(fs.readFileSync(path.join(again.rootfs, 'new-file'), 'utf8'), 'x', 'upper dir survives a remount');
  await snap.cleanup();
  assert.ok(!isMounted(snap.rootfs));
  assert.ok(!fs.existsSync(path.dirname(snap.rootfs)));
  assert.deepEqual(store.snapshots.list(), []);
});

test('150 lower layers mount; each layer is visible and the last one wins', async (t) => {
  const tars = [tarOf(busyboxEntries())];
  for (let i = 1; i < 150; i++) {
    tars.push(tarOf([
      { name: `layers/f${i}`, type: 'file', data: String(i) },
      { name: 'top', type: 'file', data: String(i) },
    ]));
  }
  const img = await addImage(store, tars, { names: ['deep:150'], compression: 'none' });
  assert.equal(img.layers.length, 150);
  const snap = await store.snapshots.prepare('carton-test-deep', img.id);
  t.after(() => snap.cleanup());
  assert.equal(fs.readdirSync(path.join(snap.rootfs, 'layers')).length, 149);
  assert.equal(fs.readFileSync(path.join(snap.rootfs, 'top'), 'utf8'), '149');
  assert.equal(fs.readFileSync(path.join(snap.rootfs, 'layers/f1'), 'utf8'), '1');
  assert.ok(fs.existsSync(path.join(snap.rootfs, 'bin/busybox')));
  // the layers a snapshot holds are not pruned, even if the image goes away
  store.images.setInUseCheck(() => []);
  await store.images.remove('deep:150');
  assert.ok(fs.existsSync(path.join(snap.rootfs, 'layers/f100')));
  assert.ok(store.layers.get(img.layers[100].chainId));
  await snap.cleanup(); // the last holder of the deleted image's layers: they go with it
  assert.equal(store.layers.get(img.layers[100].chainId), undefined);
});

test('a snapshot left half-prepared by a killed process is replaced', async (t) => {
  const half = path.join(store.root, 'snapshots', 'carton-test-half');
  fs.mkdirSync(path.join(half, 'upper'), { recursive: true }); // no snapshot.json: never completed
  fs.writeFileSync(path.join(half, 'upper', 'stale'), 'x');
  const snap = await store.snapshots.prepare('carton-test-half', 'snap:1');
  t.after(() => snap.cleanup());
  assert.ok(!fs.existsSync(path.join(snap.rootfs, 'stale')));
  assert.ok(fs.existsSync(path.join(snap.rootfs, 'bin/busybox')));
});

test('preparing from an unknown image fails cleanly', async () => {
  await assert.rejects(store.snapshots.prepare('carton-test-none', 'no-such-image'), /No such image: no-such-image/);
  assert.ok(!fs.existsSync(path.join(store.root, 'snapshots', 'carton-test-none')));
});
