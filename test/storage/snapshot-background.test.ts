/**
 * snapshots.remove(id, { background: true }) (what `carton run --rm` can use): the snapshot
 * is unmounted and gone from the store when the call returns, and its files are deleted by
 * a detached process shortly after, leaving tmp/ empty.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, test } from 'node:test';
import { openStore, Store } from '../../src/storage/store';
import { isMounted } from '../../src/storage/sys';
import { addImage, busyboxEntries, tarOf, tempDir } from './fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;

before(() => {
  tmp = tempDir('snap-bg');
  store = openStore(path.join(tmp.dir, 'root'));
});
after(() => tmp.cleanup());

test('background removal: gone from the store at once, files deleted soon after', async () => {
  await addImage(store, [tarOf([...busyboxEntries(), { name: 'etc/motd', type: 'file', data: 'hello' }])], { names: ['bg:1'] });
  const snap = await store.snapshots.prepare('carton-test-bg1', 'bg:1');
  fs.mkdirSync(path.join(snap.rootfs, 'scratch/deep'), { recursive: true });
  fs.writeFileSync(path.join(snap.rootfs, 'scratch/deep/file'), 'x'.repeat(100_000));
  await store.snapshots.remove('carton-test-bg1', { background: true });
  assert.ok(!isMounted(snap.rootfs), 'unmounted before remove() returns');
  assert.deepEqual(store.snapshots.list(), []);
  assert.equal(fs.existsSync(path.join(store.root, 'snapshots', 'carton-test-bg1')), false);
  const tmpDir = path.join(store.root, 'tmp');
  const deadline = Date.now() + 10_000;
  while (fs.readdirSync(tmpDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fs.readdirSync(tmpDir), [], 'the detached rm deleted the trash');
  // the id is free again
  const again = await store.snapshots.prepare('carton-test-bg1', 'bg:1');
  assert.equal(fs.existsSync(path.join(again.rootfs, 'scratch')), false);
  await again.cleanup();
});
