/**
 * Crash safety and concurrency with real processes: a pull killed with SIGKILL in the middle
 * of unpacking leaves no layer and no image, and the next one completes; two processes
 * pulling the same image at once both succeed and share one copy; a full disk (small
 * tmpfs as store root) gives a clear error and leaves the store consistent.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { after, before, test } from 'node:test';
import { CartonError } from '../../src/common/errors';
import { openStore } from '../../src/storage/store';
import { addImage, compress, Entry, sha256, tarOf, tempDir } from './fixtures';

let tmp: { dir: string; cleanup: () => void };
const children: number[] = [];

before(() => {
  tmp = tempDir('crash');
});
after(() => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  tmp.cleanup();
});

/** A child process that pulls the blob at `blobFile` into the store, as `carton pull` would. */
function pullScript(): string {
  const file = path.join(tmp.dir, 'pull.js');
  const fixtures = JSON.stringify(path.resolve(__dirname, 'fixtures.js'));
  const store = JSON.stringify(path.resolve(__dirname, '../../src/storage/store.js'));
  fs.writeFileSync(file, `
const fs = require('fs');
const { Readable } = require('stream');
const { openStore } = require(${store});
const { imageConfig } = require(${fixtures});
const [root, blobFile, diffId, mediaType, name] = process.argv.slice(2);
(async () => {
  const s = openStore(root);
  const data = fs.readFileSync(blobFile);
  const digest = 'sha256:' + require('crypto').createHash('sha256').update(data).digest('hex');
  if (!s.blobs.has(digest)) await s.blobs.ingest({ digest, size: data.length }, Readable.from([data]));
  process.stdout.write('unpacking\\n');
  const info = await s.layers.ensure({ diffId, compressedDigest: digest, mediaType }, null);
  await s.images.put({ config: imageConfig([diffId]), names: [name],
    layers: [{ chainId: info.chainId, diffId, blobDigest: digest, mediaType, size: data.length }] });
  process.stdout.write('done\\n');
})().catch((e) => { process.stderr.write(String(e && e.message) + '\\n'); process.exit(1); });
`);
  return file;
}

function bigLayer(files: number): { tar: Buffer; blobFile: string; mediaType: string } {
  const entries: Entry[] = [];
  const chunk = Buffer.alloc(32 * 1024, 'carton');
  for (let i = 0; i < files; i++) entries.push({ name: `d${i % 50}/f${i}`, type: 'file', data: chunk });
  const tar = tarOf(entries);
  const { data, mediaType } = compress(tar, 'gzip');
  const blobFile = path.join(tmp.dir, `layer-${files}.gz`);
  fs.writeFileSync(blobFile, data);
  return { tar, blobFile, mediaType };
}

function runPull(root: string, layer: { tar: Buffer; blobFile: string; mediaType: string }, name: string) {
  const child = spawn(process.execPath, [pullScript(), root, layer.blobFile, sha256(layer.tar), layer.mediaType, name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, exit };
}

test('SIGKILL in the middle of unpacking leaves no layer or image; the next pull completes', async () => {
  const root = path.join(tmp.dir, 'killed');
  const layer = bigLayer(6000); // ~190 MB of files: unpacking takes a while
  const { child, exit } = runPull(root, layer, 'big:1');
  // wait until the child has unpacked a good part into tmp/, then kill it
  const tmpDir = path.join(root, 'tmp');
  const deadline = Date.now() + 30_000;
  let seen = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    const dirs = fs.existsSync(tmpDir) ? fs.readdirSync(tmpDir).filter((n) => n.includes('-layer-')) : [];
    const diff = dirs.length ? path.join(tmpDir, dirs[0], 'diff') : '';
    seen = diff && fs.existsSync(diff) ? fs.readdirSync(diff).length : 0;
    if (seen >= 10) break;
  }
  assert.ok(seen >= 10, 'the child started unpacking');
  child.kill('SIGKILL');
  const res = await exit;
  assert.equal(res.signal, 'SIGKILL');
  assert.ok(!res.out.includes('done'));

  const store = openStore(root); // sweeps the dead pull's debris
  assert.deepEqual(store.layers.list(), []);
  assert.deepEqual(store.images.list(), []);
  assert.deepEqual(fs.readdirSync(tmpDir), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'layers')), []);

  const again = await runPull(root, layer, 'big:1').exit;
  assert.equal(again.code, 0, again.err);
  const img = store.images.resolve('big:1');
  assert.ok(img);
  const info = store.layers.get(img.layers[0].chainId)!;
  assert.equal(fs.readdirSync(path.join(info.diffDir, 'd7')).length, 120);
});

test('two processes pulling the same image at once share one layer and one image', async () => {
  const root = path.join(tmp.dir, 'race');
  const layer = bigLayer(800);
  const [a, b] = await Promise.all([runPull(root, layer, 'race:1').exit, runPull(root, layer, 'race:1').exit]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const store = openStore(root);
  assert.equal(store.images.list().length, 1);
  assert.deepEqual(store.images.list()[0].names, ['docker.io/library/race:1']);
  assert.equal(store.layers.list().length, 1);
  assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), []);
});

test('a full disk gives a clear error and leaves the store consistent', async () => {
  const root = path.join(tmp.dir, 'tiny');
  fs.mkdirSync(root);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'carton-test-tmpfs', root], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  const store = openStore(root);
  const small = await addImage(store, [tarOf([{ name: 'ok', type: 'file', data: 'fine' }])], { names: ['small:1'] });

  // a blob bigger than the disk
  const big = Buffer.alloc(4 << 20, 7);
  await assert.rejects(store.blobs.ingest({ digest: sha256(big), size: big.length }, Readable.from([big])), (e: unknown) => {
    assert.ok(e instanceof CartonError);
    assert.equal(e.code, 'EKERNEL');
    assert.match(e.message, /^blob sha256:[0-9a-f]{64}: no space left on device$/);
    assert.match(e.hint ?? '', /free space in the image store/);
    return true;
  });
  assert.equal(store.blobs.has(sha256(big)), false);

  // a small compressed blob that unpacks to more than the disk holds
  const bomb = tarOf([{ name: 'zeros', type: 'file', data: Buffer.alloc(6 << 20) }]);
  const { data, mediaType } = compress(bomb, 'gzip');
  await store.blobs.ingest({ digest: sha256(data), size: data.length }, Readable.from([data]));
  await assert.rejects(store.layers.ensure({ diffId: sha256(bomb), compressedDigest: sha256(data), mediaType }, null), (e: unknown) => {
    assert.ok(e instanceof CartonError);
    assert.match(e.message, /^layer sha256:[0-9a-f]{64}: write zeros: no space left on device$/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), []);
  assert.deepEqual(store.images.list().map((i) => i.id), [small.id]);
  assert.equal(store.layers.list().length, 1);
  assert.equal(store.images.resolve('small:1')?.id, small.id);
  // a disk so full that even the image list cannot be rewritten: the old list stays
  const filler = path.join(root, 'carton-test-filler');
  try {
    fs.writeFileSync(filler, Buffer.alloc(3 << 20));
  } catch {
    /* filled up to the last byte, as intended */
  }
  await assert.rejects(store.images.tag('small:1', 'small:renamed'), (e: unknown) => {
    assert.ok(e instanceof CartonError);
    assert.equal(e.code, 'EKERNEL');
    assert.match(e.message, /images\.json: no space left on device$/);
    return true;
  });
  assert.deepEqual(store.images.list().map((i) => i.names), [['docker.io/library/small:1']]);
  fs.rmSync(filler);
  // and the store still works once the failed content is gone
  const next = await addImage(store, [tarOf([{ name: 'after', type: 'file', data: 'x' }])], { names: ['small:2'] });
  assert.equal(store.images.list().length, 2);
  assert.ok(store.images.resolve('small:2')?.id === next.id);
});
