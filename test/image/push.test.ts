/**
 * push() against real registries, checked with skopeo (an independent client): the
 * pulled manifest pushed byte for byte, cross-repository mounts, chunked uploads, token
 * auth, and an image without a stored manifest getting a fresh OCI one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'child_process';
import * as fs from 'fs';
import { promisify } from 'util';
import * as os from 'os';
import * as path from 'path';
import { pull } from '../../src/image/pull';
import { push } from '../../src/image/push';
import type { PushEvent } from '../../src/image/progress';
import { openStore, Store } from '../../src/storage/store';
import { BuiltImage, OciLayout, buildTestImage, skopeoInspect, skopeoPush } from '../registry/image-builder';
import { TestRegistry, startRegistry } from '../registry/harness';

const execFileP = promisify(execFile);
const tmp: string[] = [];
let src: TestRegistry;
let dst: TestRegistry;
let image: BuiltImage;
let store: Store;
const ALICE = { username: 'alice', password: 'wonderland' };

before(async () => {
  const layoutDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-layout-'));
  tmp.push(layoutDir);
  image = buildTestImage(new OciLayout(layoutDir), 'v1', { extraBytes: 2 * 1024 * 1024 });
  src = await startRegistry();
  dst = await startRegistry({ kind: 'token', users: { alice: 'wonderland' } });
  await skopeoPush(layoutDir, 'v1', `${src.host}/test/busybox:v1`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-store-'));
  tmp.push(root);
  store = openStore(root);
  await pull(`${src.host}/test/busybox:v1`, { store });
});

after(async () => {
  await src?.stop();
  await dst?.stop();
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

test('push the pulled image byte for byte; skopeo sees the same digest', async () => {
  const events: PushEvent[] = [];
  const res = await push(`${src.host}/test/busybox:v1`, {
    store,
    destination: `${dst.host}/pushed/app:v2`,
    credentials: ALICE,
    onProgress: (e) => events.push(e),
  });
  assert.equal(res.digest, image.manifestDigest);
  const info = (await skopeoInspect(`${dst.host}/pushed/app:v2`, 'alice:wonderland')) as { Digest: string; Layers: string[] };
  assert.equal(info.Digest, image.manifestDigest);
  assert.deepEqual(info.Layers, image.layers.map((l) => l.digest));
  assert.equal(events.filter((e) => e.type === 'layer' && e.status === 'Pushed').length, 4);
  assert.deepEqual(events.at(-1), { type: 'pushed', tag: 'v2', digest: image.manifestDigest, size: res.size });
  const rec = store.images.get(image.configDigest)!;
  assert.ok(rec.repoDigests.includes(`${dst.host}/pushed/app@${image.manifestDigest}`));

  // Again: every blob is already there.
  const again: PushEvent[] = [];
  await push(`${src.host}/test/busybox:v1`, { store, destination: `${dst.host}/pushed/app:v2`, credentials: ALICE, onProgress: (e) => again.push(e) });
  assert.equal(again.filter((e) => e.type === 'layer' && e.status === 'Layer already exists').length, 4);
});

test('another repository on the same registry mounts instead of uploading', async () => {
  const events: PushEvent[] = [];
  await push(`${src.host}/test/busybox:v1`, { store, destination: `${src.host}/other/copy:v1`, onProgress: (e) => events.push(e) });
  assert.equal(events.filter((e) => e.type === 'layer' && e.status === 'Mounted').length, 4);
  const info = (await skopeoInspect(`${src.host}/other/copy:v1`)) as { Digest: string };
  assert.equal(info.Digest, image.manifestDigest);
});

test('chunked upload', async () => {
  await push(`${src.host}/test/busybox:v1`, { store, destination: `${dst.host}/chunked/app:c`, credentials: ALICE, chunkSize: 512 * 1024 });
  const info = (await skopeoInspect(`${dst.host}/chunked/app:c`, 'alice:wonderland')) as { Digest: string };
  assert.equal(info.Digest, image.manifestDigest);
});

test('without a stored manifest an OCI manifest is written', async () => {
  const rec = store.images.get(image.configDigest)!;
  store.blobs.remove(rec.manifestDigest!);
  const res = await push(image.configDigest, { store, destination: `${dst.host}/fresh/app:new`, credentials: ALICE });
  const raw = (await skopeoInspect(`${dst.host}/fresh/app:new`, 'alice:wonderland', true)) as {
    mediaType: string;
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  assert.equal(raw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(raw.config.digest, image.configDigest);
  assert.deepEqual(raw.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
  assert.match(res.digest, /^sha256:[a-f0-9]{64}$/);

  // Podman accepts the manifest Carton wrote (vfs storage under a temp root, nothing mounted).
  const podRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-podman-'));
  tmp.push(podRoot);
  const pod = ['--root', path.join(podRoot, 'root'), '--runroot', path.join(podRoot, 'run'), '--storage-driver', 'vfs'];
  const auth = path.join(podRoot, 'auth.json');
  fs.writeFileSync(auth, JSON.stringify({ auths: { [dst.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
  const { stdout } = await execFileP('podman', [...pod, 'pull', '--quiet', '--tls-verify=false', '--authfile', auth, `${dst.host}/fresh/app:new`], { timeout: 60_000 });
  assert.equal(stdout.trim(), image.configDigest.slice(7));
});

test('push to an HTTPS registry, mounting across repositories there too', async () => {
  const tlsReg = await startRegistry({ kind: 'none' }, { tls: true });
  try {
    await push(`${src.host}/test/busybox:v1`, { store, destination: `${tlsReg.host}/first/app:1` });
    const events: PushEvent[] = [];
    await push(`${src.host}/test/busybox:v1`, { store, destination: `${tlsReg.host}/second/app:1`, onProgress: (e) => events.push(e) });
    assert.equal(events.filter((e) => e.type === 'layer' && e.status === 'Mounted').length, 4);
    const info = (await skopeoInspect(`${tlsReg.host}/second/app:1`)) as { Digest: string };
    assert.match(info.Digest, /^sha256:/);
  } finally {
    await tlsReg.stop();
  }
});

test('a layer shared with another image under another compression is pushed from the blob the store has', async () => {
  const layoutDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-layout-'));
  tmp.push(layoutDir);
  // Same base layer content as the pulled image, but zstd: pull finds it "Already exists".
  const zimg = buildTestImage(new OciLayout(layoutDir), 'z', { compression: ['zstd', 'gzip', 'gzip'] });
  await skopeoPush(layoutDir, 'z', `${src.host}/test/zstd:z`);
  const z = await pull(`${src.host}/test/zstd:z`, { store });
  assert.equal(z.record.layers[0].chainId, store.images.get(image.configDigest)!.layers[0].chainId);
  assert.equal(store.blobs.has(zimg.layers[0].digest), false, 'the zstd base blob was never downloaded');
  assert.equal(z.record.layers[0].blobDigest, image.layers[0].digest, 'the record names the blob the store has');
  await push(`${src.host}/test/zstd:z`, { store, destination: `${dst.host}/shared/app:z`, credentials: ALICE });
  const raw = (await skopeoInspect(`${dst.host}/shared/app:z`, 'alice:wonderland', true)) as { layers: Array<{ digest: string }> };
  assert.equal(raw.layers[0].digest, image.layers[0].digest, 'the gzip blob of the shared layer stands in');
  // And what was pushed pulls back into a fresh store as the same image.
  const fresh = openStore(fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-store-')));
  tmp.push(fresh.root);
  const back = await pull(`${dst.host}/shared/app:z`, { store: fresh, credentials: ALICE });
  assert.equal(back.record.id, zimg.configDigest);
});

test('errors: an image not in the store, and no credentials for a token registry', async () => {
  await assert.rejects(push('nope:latest', { store, destination: `${dst.host}/x:y` }), { code: 'ENOTFOUND' });
  await assert.rejects(push(image.configDigest, { store, destination: `${dst.host}/x/y:z`, authFile: '/nonexistent/carton-test.json' }), {
    code: 'EREGISTRY',
    message: /^unauthorized: /,
  });
});
