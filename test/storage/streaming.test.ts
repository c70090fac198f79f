/**
 * One-pass ingest (blobs.ingest with a tee → layers.ensureStreaming), as a pull uses it:
 * the layer becomes visible only after its blob verified; a bad blob is reported as a
 * digest mismatch even when the unpacker trips over it first; a stream cut by a download
 * that started over falls back to the stored blob; nothing is left in tmp/ on failure.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Readable } from 'stream';
import { after, before, test } from 'node:test';
import { CartonError } from '../../src/common/errors';
import { openStore, Store } from '../../src/storage/store';
import { busyboxEntries, compress, sha256, tarOf, tempDir } from './fixtures';

let tmp: { dir: string; cleanup: () => void };
let n = 0;

before(() => {
  tmp = tempDir('streaming');
});
after(() => tmp.cleanup());

function newStore(): Store {
  return openStore(path.join(tmp.dir, `root${n++}`));
}

function layerOf(extra: string): { tar: Buffer; data: Buffer; digest: string; diffId: string; mediaType: string } {
  const tar = tarOf([...busyboxEntries(), { name: 'etc/extra', type: 'file', data: extra.repeat(200_000) }]);
  const { data, mediaType } = compress(tar, 'gzip');
  return { tar, data, digest: sha256(data), diffId: sha256(tar), mediaType };
}

/** The blob in small chunks, as a socket delivers it. */
function chunked(data: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) parts.push(data.subarray(off, off + size));
  return Readable.from(parts);
}

function tee(): PassThrough {
  const t = new PassThrough({ objectMode: true, highWaterMark: 4 });
  t.on('error', () => undefined);
  return t;
}

test('a layer unpacked while its blob streams in, visible once both are verified', async () => {
  const store = newStore();
  const l = layerOf('a');
  const t = tee();
  const stored = store.blobs.ingest({ digest: l.digest, size: l.data.length }, chunked(l.data), { tee: t });
  const info = await store.layers.ensureStreaming({ diffId: l.diffId, compressedDigest: l.digest, mediaType: l.mediaType }, null, t, stored);
  assert.ok(store.blobs.has(l.digest));
  assert.equal(fs.readFileSync(path.join(info.diffDir, 'etc/extra'), 'utf8').length, 200_000);
  assert.equal(info.blobDigest, l.digest);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
});

test('a tampered blob is a digest mismatch, not a gzip error; no layer, no blob, tmp/ empty', async () => {
  const store = newStore();
  const l = layerOf('b');
  const bad = Buffer.from(l.data);
  bad[Math.floor(bad.length / 2)] ^= 0xff; // gunzip fails on it (or the diffId would)
  const t = tee();
  const stored = store.blobs.ingest({ digest: l.digest, size: l.data.length }, chunked(bad), { tee: t });
  await assert.rejects(
    store.layers.ensureStreaming({ diffId: l.diffId, compressedDigest: l.digest, mediaType: l.mediaType }, null, t, stored),
    (e: unknown) => e instanceof CartonError && e.code === 'EDIGEST' && new RegExp(`blob ${l.digest}: content has digest`).test(e.message),
  );
  assert.equal(store.blobs.has(l.digest), false);
  assert.deepEqual(store.layers.list(), []);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
});

test('a good blob whose layer does not match the config: the diffId error, nothing visible', async () => {
  const store = newStore();
  const l = layerOf('c');
  const wrongDiffId = sha256(Buffer.from('something else'));
  const t = tee();
  const stored = store.blobs.ingest({ digest: l.digest, size: l.data.length }, chunked(l.data), { tee: t });
  await assert.rejects(
    store.layers.ensureStreaming({ diffId: wrongDiffId, compressedDigest: l.digest, mediaType: l.mediaType }, null, t, stored),
    (e: unknown) => e instanceof CartonError && e.code === 'EDIGEST' && /uncompressed content has digest/.test(e.message),
  );
  assert.deepEqual(store.layers.list(), []);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
});

test('a stream cut short (a download that started over) unpacks from the stored blob', async () => {
  const store = newStore();
  const l = layerOf('d');
  const t = tee();
  // The first attempt fed half the blob to the tee and failed; the retry stores it whole.
  const stored = (async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 10));
    t.write(l.data.subarray(0, l.data.length >> 1));
    t.destroy(new CartonError('EDIGEST', `blob ${l.digest}: got fewer bytes (truncated)`));
    await store.blobs.ingest({ digest: l.digest, size: l.data.length }, chunked(l.data));
  })();
  const info = await store.layers.ensureStreaming({ diffId: l.diffId, compressedDigest: l.digest, mediaType: l.mediaType }, null, t, stored);
  assert.equal(fs.readFileSync(path.join(info.diffDir, 'etc/extra'), 'utf8'), 'd'.repeat(200_000));
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
});

test('the layer is not visible before the blob is stored', async () => {
  const store = newStore();
  const l = layerOf('e');
  await store.blobs.ingest({ digest: l.digest, size: l.data.length }, Readable.from([l.data]));
  const t = tee();
  let release!: () => void;
  const stored = new Promise<void>((r) => (release = r));
  const done = store.layers.ensureStreaming({ diffId: l.diffId, compressedDigest: l.digest, mediaType: l.mediaType }, null, t, stored);
  t.end(l.data);
  await new Promise((r) => setTimeout(r, 300)); // unpacked by now, waiting for the blob
  assert.deepEqual(store.layers.list(), [], 'no layer before its blob is in');
  release();
  const info = await done;
  assert.ok(store.layers.get(info.chainId));
});
