/**
 * The image store on a real filesystem: verified blob ingest, layers from gzip / zstd /
 * uncompressed blobs shared between images, image records (resolve, tag, untag, rmi with
 * the in-use hook) and garbage collection of what rmi leaves unreferenced.
 */
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { after, before, test } from 'node:test';
import { CartonError } from '../../src/common/errors';
import { ImageRecord, openStore, Store } from '../../src/storage/store';
import { pruneImages } from '../../src/storage/prune';
import { chainIds } from '../../src/layer/chain';
import { addImage, busyboxEntries, compress, imageConfig, sha256, tarOf, tempDir } from './fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;

before(() => {
  tmp = tempDir('store');
  store = openStore(path.join(tmp.dir, 'root'));
});
after(() => tmp.cleanup());

function isCode(code: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CartonError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

test('ingest verifies digest and size and leaves nothing behind on a mismatch', async () => {
  const data = Buffer.from('hello blob');
  const digest = sha256(data);
  const wrong = sha256(Buffer.from('other'));
  await assert.rejects(store.blobs.ingest({ digest: wrong, size: data.length }, Readable.from([data])),
    isCode('EDIGEST', new RegExp(`^blob ${wrong}: content has digest ${digest}`)));
  await assert.rejects(store.blobs.ingest({ digest, size: 100 }, Readable.from([data])), isCode('EDIGEST', /got 10 of 100 bytes \(truncated\)/));
  await assert.rejects(store.blobs.ingest({ digest, size: 4 }, Readable.from([data])), isCode('EDIGEST', /more than the expected 4 bytes/));
  assert.equal(store.blobs.has(digest), false);
  assert.equal(store.blobs.has(wrong), false);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
  await store.blobs.ingest({ digest, size: data.length }, Readable.from([data]));
  assert.equal(store.blobs.readBytes(digest).toString(), 'hello blob');
  const streamed: Buffer[] = [];
  for await (const c of store.blobs.openRead(digest)) streamed.push(c as Buffer);
  assert.equal(Buffer.concat(streamed).toString(), 'hello blob');
});

test('gzip, zstd and uncompressed layers unpack; a shared base layer is unpacked once', async () => {
  const base = tarOf(busyboxEntries());
  const images: ImageRecord[] = [];
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    const top = tarOf([{ name: `etc/${compression}`, type: 'file', data: compression }]);
    images.push(await addImage(store, [base, top], { compression, names: [`example.com/c/${compression}:1`] }));
  }
  for (const [i, c] of ['gzip', 'zstd', 'none'].entries()) {
    const topInfo = store.layers.get(images[i].layers[1].chainId)!;
    assert.equal(fs.readFileSync(path.join(topInfo.diffDir, `etc/${c}`), 'utf8'), c);
  }
  // the base layer has one chain id whatever its compression: one directory on disk
  assert.equal(new Set(images.map((i) => i.layers[0].chainId)).size, 1);
  const baseInfo = store.layers.get(images[0].layers[0].chainId)!;
  assert.ok(fs.statSync(path.join(baseInfo.diffDir, 'bin/busybox')).size > 100_000);
  assert.equal(fs.readlinkSync(path.join(baseInfo.diffDir, 'bin/sh')), 'busybox');
  assert.equal(store.layers.list().length, 4);
});

test('images resolve by name, short name, id, id prefix and repo digest', async () => {
  const tar = tarOf([{ name: 'resolve-me', type: 'file', data: 'r' }]);
  const img = await addImage(store, [tar], { names: ['alpine', 'localhost:5000/x/y:v1'] });
  assert.deepEqual(img.names, ['docker.io/library/alpine:latest', 'localhost:5000/x/y:v1']);
  assert.equal(store.images.resolve('alpine')?.id, img.id);
  assert.equal(store.images.resolve('alpine:latest')?.id, img.id);
  assert.equal(store.images.resolve('docker.io/library/alpine')?.id, img.id);
  assert.equal(store.images.resolve(img.id)?.id, img.id);
  assert.equal(store.images.resolve(img.id.slice(7, 19))?.id, img.id);
  assert.equal(store.images.resolve(`sha256:${img.id.slice(7, 12)}`)?.id, img.id);
  assert.equal(store.images.resolve('localhost:5000/x/y:v1')?.id, img.id);
  assert.equal(store.images.resolve('alpine:3'), undefined);
  assert.equal(store.images.resolve('nope'), undefined);
  assert.equal(store.images.config(img.id).rootfs.diff_ids[0], sha256(tar));
});

test('tag moves a name; rmi untags, refuses images in use, deletes and collects layers', async () => {
  const a = await addImage(store, [tarOf([{ name: 'a', type: 'file', data: 'a' }])], { names: ['app:1'] });
  const b = await addImage(store, [tarOf([{ name: 'b', type: 'file', data: 'b' }])], { names: ['app:2'] });
  await store.images.tag('app:2', 'app:latest');
  await store.images.tag(a.id, 'app:latest'); // moves it off b
  assert.deepEqual(store.images.get(a.id)!.names, ['docker.io/library/app:1', 'docker.io/library/app:latest']);
  assert.deepEqual(store.images.get(b.id)!.names, ['docker.io/library/app:2']);

  await assert.rejects(store.images.remove(a.id.slice(7, 19)), isCode('ESTATE', /image is referenced in multiple repositories/));
  assert.deepEqual(await store.images.remove('app:latest'), ['Untagged: docker.io/library/app:latest']);

  store.images.setInUseCheck((id) => (id === a.id ? ['c0ffee0000000000000000000000000000000000'] : []));
  await assert.rejects(store.images.remove('app:1'), isCode('ESTATE', /container c0ffee000000 is using its referenced image/));
  store.images.setInUseCheck(() => []);

  const aLayer = a.layers[0];
  const out = await store.images.remove('app:1');
  assert.deepEqual(out.slice(0, 2), ['Untagged: docker.io/library/app:1', `Deleted: ${a.id}`]);
  assert.ok(out.includes(`Deleted: ${aLayer.chainId}`));
  assert.equal(store.images.get(a.id), undefined);
  assert.equal(store.layers.get(aLayer.chainId), undefined);
  assert.equal(store.blobs.has(aLayer.blobDigest), false);
  assert.equal(store.blobs.has(a.id), false);
  assert.ok(store.images.get(b.id), 'the other image is untouched');
  assert.ok(store.layers.get(b.layers[0].chainId));
  await assert.rejects(store.images.remove('app:1'), isCode('ENOTFOUND', /^No such image: app:1$/));
});

test('a put naming a missing layer or mismatching its config is refused', async () => {
  const diffId = sha256(Buffer.from('x'));
  await assert.rejects(
    store.images.put({ config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }, layers: [{ chainId: diffId, diffId, blobDigest: diffId, mediaType: 'x', size: 1 }] }),
    isCode('ENOTFOUND', /layer sha256:[0-9a-f]+ is not unpacked/),
  );
  await assert.rejects(
    store.images.put({ config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }, layers: [] }),
    isCode('EINVAL_CONFIG', /config has 1 diff_ids but 0 layers/),
  );
});

test('the store lock (flock through the addon) keeps another process out until released', async () => {
  const child = spawn(process.execPath, ['-e', `
    const { openStore } = require(${JSON.stringify(path.resolve(__dirname, '../../src/storage/store.js'))});
    openStore(${JSON.stringify(store.root)}).lock('ex').then((r) => { console.log('held'); setTimeout(() => { r(); console.log('released'); }, 700); });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise((r) => child.on('close', r));
  let out = '';
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => { out += d; if (out.includes('held')) resolve(); }));
  const t0 = Date.now();
  await store.withLock('ex', () => undefined);
  const waited = Date.now() - t0;
  await closed;
  assert.ok(waited >= 500, `waited ${waited} ms for the other holder`);
  assert.match(out, /released/);
});

test('image prune removes dangling images, --all every unused one, never one in use', async () => {
  const fresh = openStore(path.join(tmp.dir, 'prune'));
  const dangling = await addImage(fresh, [tarOf([{ name: 'd', type: 'file', data: 'd' }])]);
  const named = await addImage(fresh, [tarOf([{ name: 'n', type: 'file', data: 'n' }])], { names: ['keep:1', 'keep:2'] });
  const used = await addImage(fresh, [tarOf([{ name: 'u', type: 'file', data: 'u' }])], { names: ['used:1'] });
  fresh.images.setInUseCheck((id) => (id === used.id ? ['c1'] : []));
  const r1 = await pruneImages(fresh);
  assert.deepEqual(r1.lines.slice(0, 1), [`deleted: ${dangling.id}`]);
  assert.ok(r1.reclaimed > 0);
  assert.deepEqual(fresh.images.list().map((i) => i.id).sort(), [named.id, used.id].sort());
  const r2 = await pruneImages(fresh, { all: true });
  assert.ok(r2.lines.includes('untagged: docker.io/library/keep:1'));
  assert.ok(r2.lines.includes(`deleted: ${named.id}`));
  assert.deepEqual(fresh.images.list().map((i) => i.id), [used.id]);
  assert.equal(fresh.layers.list().length, 1);
});

test('layers.prune keeps a freshly unpacked layer no image records yet (a pull in progress)', async () => {
  const tar = tarOf([{ name: 'in-flight', type: 'file', data: 'x' }]);
  const digest = sha256(tar);
  await store.blobs.ingest({ digest, size: tar.length }, Readable.from([tar]));
  const info = await store.layers.ensure({ diffId: digest }, null);
  assert.deepEqual(store.layers.prune(), []);
  assert.ok(store.layers.get(info.chainId));
  // the same layer, recorded long ago and never used, goes
  const file = path.join(store.root, 'layers', info.chainId.slice(7), 'layer.json');
  const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...rec, createdAt: '2020-01-01T00:00:00Z' }));
  assert.deepEqual(store.layers.prune(), [info.chainId]);
  assert.equal(store.layers.get(info.chainId), undefined);
});

test('layers of one image can be unpacked concurrently and in any order', async () => {
  const tars = [0, 1, 2, 3].map((i) => tarOf([{ name: `f${i}`, type: 'file', data: Buffer.alloc(300_000, i) }]));
  const blobs = tars.map((t) => compress(t, 'gzip'));
  for (const b of blobs) await store.blobs.ingest({ digest: sha256(b.data), size: b.data.length }, Readable.from([b.data]));
  const diffIds = tars.map(sha256);
  const chains = chainIds(diffIds);
  const infos = await Promise.all([3, 1, 0, 2].map((i) =>
    store.layers.ensure({ diffId: diffIds[i], compressedDigest: sha256(blobs[i].data), mediaType: blobs[i].mediaType }, i ? chains[i - 1] : null)));
  assert.deepEqual(infos.map((i) => i.chainId), [3, 1, 0, 2].map((i) => chains[i]));
  const img = await store.images.put({
    config: imageConfig(diffIds),
    names: ['concurrent:1'],
    layers: diffIds.map((d, i) => ({ chainId: chains[i], diffId: d, blobDigest: sha256(blobs[i].data), mediaType: blobs[i].mediaType, size: blobs[i].data.length })),
  });
  for (const [i, l] of img.layers.entries()) {
    assert.deepEqual(fs.readFileSync(path.join(store.layers.get(l.chainId)!.diffDir, `f${i}`)), Buffer.alloc(300_000, i));
  }
});
