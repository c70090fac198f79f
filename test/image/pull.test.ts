/**
 * pull() end to end: a real docker-registry, images pushed by skopeo, a real store.
 * Covers auth kinds, indexes and --platform, not-found, a tampered blob, a cut
 * connection, 503 retries, a redirect that must not carry credentials, and two pulls
 * of one image at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pull } from '../../src/image/pull';
import type { PullEvent } from '../../src/image/progress';
import { openStore, Store } from '../../src/storage/store';
import { getXattrs } from '../../src/storage/sys';
import { BuiltImage, OciLayout, buildMultiArchImage, buildTestImage, skopeoPush } from '../registry/image-builder';
import { TestRegistry, startRegistry } from '../registry/harness';
import { TestProxy, startProxy } from '../registry/proxy';

const USERS = { alice: 'wonderland' };
const ALICE = { username: 'alice', password: 'wonderland' };
const tmp: string[] = [];
const stops: Array<() => Promise<void>> = [];
let layoutDir: string;
let image: BuiltImage;
let multi: ReturnType<typeof buildMultiArchImage>;
let open: TestRegistry;

function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `carton-test-${tag}-`));
  tmp.push(d);
  return d;
}

function newStore(): Store {
  return openStore(tempDir('store'));
}

async function proxy(opts: Parameters<typeof startProxy>[0]): Promise<TestProxy> {
  const p = await startProxy(opts);
  stops.push(p.stop);
  return p;
}

function assertConsistent(store: Store): void {
  for (const img of store.images.list()) {
    for (const l of img.layers) assert.ok(store.layers.get(l.chainId), `layer ${l.chainId} of ${img.id} is unpacked`);
    assert.ok(store.blobs.has(img.id), 'config blob present');
  }
}

before(async () => {
  layoutDir = tempDir('layout');
  const layout = new OciLayout(layoutDir);
  image = buildTestImage(layout, 'v1', { extraBytes: 3 * 1024 * 1024 });
  multi = buildMultiArchImage(layout, 'multi');
  open = await startRegistry();
  stops.push(open.stop);
  await skopeoPush(layoutDir, 'v1', `${open.host}/test/busybox:v1`);
  await skopeoPush(layoutDir, 'multi', `${open.host}/test/multi:latest`);
});

after(async () => {
  for (const s of stops.reverse()) await s();
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

describe('pull from an open registry', () => {
  test('layers unpacked with their special files, image listed, events in order', async () => {
    const store = newStore();
    const events: PullEvent[] = [];
    const res = await pull(`${open.host}/test/busybox:v1`, { store, onProgress: (e) => events.push(e) });
    assert.equal(res.reference, `${open.host}/test/busybox:v1`);
    assert.equal(res.digest, image.manifestDigest);
    assert.equal(res.upToDate, false);
    assert.equal(res.record.id, image.configDigest);
    assert.deepEqual(res.record.names, [`${open.host}/test/busybox:v1`]);
    assert.deepEqual(res.record.repoDigests, [`${open.host}/test/busybox@${image.manifestDigest}`]);
    const [l1, l2, l3] = res.record.layers.map((l) => store.layers.get(l.chainId)!.diffDir);
    assert.equal(fs.readlinkSync(path.join(l1, 'bin/sh')), 'busybox');
    assert.equal(fs.statSync(path.join(l2, 'usr/bin/setuid-tool')).mode & 0o7777, 0o4755);
    assert.equal(fs.statSync(path.join(l2, 'etc/hardlink')).ino, fs.statSync(path.join(l2, 'etc/original')).ino);
    const xattrs = getXattrs([path.join(l2, 'etc/with-xattr')]).get(path.join(l2, 'etc/with-xattr'));
    assert.equal(xattrs?.get('user.carton')?.toString(), 'test-value');
    const wh = fs.lstatSync(path.join(l3, 'etc/motd'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout became an overlay whiteout');
    const statuses = events.filter((e) => e.type === 'layer').map((e) => (e as { status: string }).status);
    assert.ok(statuses.includes('Pull complete'));
    assert.deepEqual(events.at(-1), { type: 'status', message: `Downloaded newer image for ${open.host}/test/busybox:v1` });

    const again: PullEvent[] = [];
    const res2 = await pull(`${open.host}/test/busybox:v1`, { store, onProgress: (e) => again.push(e) });
    assert.equal(res2.upToDate, true);
    const layerEvents = again.filter((e) => e.type === 'layer');
    assert.ok(layerEvents.every((e) => (e as { status: string }).status === 'Already exists'));
    assert.equal(store.images.list().length, 1);
  });

  test('Docker schema2 manifests and manifest lists', async () => {
    await skopeoPush(layoutDir, 'v1', `${open.host}/docker/single:v1`, undefined, 'v2s2');
    await skopeoPush(layoutDir, 'multi', `${open.host}/docker/multi:v1`, undefined, 'v2s2');
    const store = newStore();
    const single = await pull(`${open.host}/docker/single:v1`, { store });
    assert.equal(single.record.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(single.record.id, image.configDigest);
    const list = await pull(`${open.host}/docker/multi:v1`, { store, platform: 'linux/arm/v7' });
    assert.equal(list.record.id, multi.images[2].configDigest);
    assertConsistent(store);
  });

  test('zstd and uncompressed layers', async () => {
    const layout = new OciLayout(tempDir('layout-zstd'));
    const zimg = buildTestImage(layout, 'z', { compression: ['zstd', 'none', 'zstd'] });
    await skopeoPush(layout.dir, 'z', `${open.host}/test/zstd:z`);
    const store = newStore();
    const res = await pull(`${open.host}/test/zstd:z`, { store });
    assert.equal(res.record.id, zimg.configDigest);
    const l2 = store.layers.get(res.record.layers[1].chainId)!;
    assert.equal(l2.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.ok(fs.existsSync(path.join(l2.diffDir, 'usr/bin/setuid-tool')));
  });

  test('by digest: no name, a repo digest', async () => {
    const store = newStore();
    const res = await pull(`${open.host}/test/busybox@${image.manifestDigest}`, { store });
    assert.deepEqual(res.record.names, []);
    assert.equal(res.record.repoDigests[0], `${open.host}/test/busybox@${image.manifestDigest}`);
  });

  test('an index resolves to linux/amd64, or to --platform', async () => {
    const store = newStore();
    const amd = await pull(`${open.host}/test/multi`, { store });
    assert.equal(amd.digest, multi.indexDigest);
    assert.equal(amd.record.id, multi.images[0].configDigest);
    assert.equal(amd.record.architecture, 'amd64');
    const arm = await pull(`${open.host}/test/multi`, { store, platform: 'linux/arm64' });
    assert.equal(arm.record.id, multi.images[1].configDigest);
    const v7 = await pull(`${open.host}/test/multi`, { store, platform: 'linux/arm/v7' });
    assert.equal(v7.record.id, multi.images[2].configDigest);
    await assert.rejects(pull(`${open.host}/test/multi`, { store, platform: 'linux/s390x' }), {
      code: 'ENOTFOUND',
      message: /no matching manifest for linux\/s390x/,
    });
    await assert.rejects(pull(`${open.host}/test/busybox:v1`, { store, platform: 'linux/arm64' }), {
      message: /does not match the specified platform: wanted linux\/arm64\/v8, actual: linux\/amd64/,
    });
    assertConsistent(store);
  });

  test('an unknown image or tag', async () => {
    const store = newStore();
    await assert.rejects(pull(`${open.host}/nope`, { store }), {
      code: 'ENOTFOUND',
      message: `manifest unknown: image "${open.host}/nope:latest" not found`,
    });
    await assert.rejects(pull(`${open.host}/test/busybox:v404`, { store }), { code: 'ENOTFOUND' });
    assert.equal(store.images.list().length, 0);
  });

  test('two processes pulling one image into one store', async () => {
    const root = tempDir('store-2proc');
    const script = `const {pull}=require(${JSON.stringify(path.resolve(__dirname, '../../src/image/pull'))});` +
      `const {openStore}=require(${JSON.stringify(path.resolve(__dirname, '../../src/storage/store'))});` +
      `pull(process.argv[1],{store:openStore(process.argv[2])}).then(()=>process.exit(0),(e)=>{console.error(e.message);process.exit(4)});`;
    const run = (): Promise<{ code: number | null; err: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['-e', script, `${open.host}/test/busybox:v1`, root], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d) => (err += d));
        child.on('exit', (code) => resolve({ code, err }));
      });
    const results = await Promise.all([run(), run()]);
    assert.deepEqual(results, [{ code: 0, err: '' }, { code: 0, err: '' }]);
    const store = openStore(root);
    assert.equal(store.images.list().length, 1);
    assertConsistent(store);
  });

  test('two pulls of one image at once', async () => {
    const store = newStore();
    const [a, b] = await Promise.all([
      pull(`${open.host}/test/busybox:v1`, { store }),
      pull(`${open.host}/test/busybox:v1`, { store: openStore(store.root) }),
    ]);
    assert.equal(a.record.id, b.record.id);
    assert.equal(store.images.list().length, 1);
    assertConsistent(store);
  });
});

describe('pull with authentication', () => {
  test('Basic (htpasswd) and token registries', async () => {
    for (const kind of ['basic', 'token'] as const) {
      const reg = await startRegistry({ kind, users: USERS });
      stops.push(reg.stop);
      await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`, 'alice:wonderland');
      const store = newStore();
      const res = await pull(`${reg.host}/test/busybox:v1`, { store, credentials: ALICE });
      assert.equal(res.record.id, image.configDigest, kind);
      await assert.rejects(pull(`${reg.host}/test/busybox:v1`, { store: newStore(), credentials: { username: 'alice', password: 'x' } }), {
        code: 'EREGISTRY',
        message: /^unauthorized: /,
      });
    }
  });

  test('a redirect to another host never carries the registry credentials', async () => {
    const reg = await startRegistry({ kind: 'basic', users: USERS });
    stops.push(reg.stop);
    await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`, 'alice:wonderland');
    const basic = 'Basic ' + Buffer.from('alice:wonderland').toString('base64');
    const storage = await proxy({ upstreamPort: reg.port, upstreamAuthorization: basic });
    const front = await proxy({
      upstreamPort: reg.port,
      decide: (r) =>
        r.method === 'GET' && /\/blobs\/sha256:/.test(r.path)
          ? { kind: 'redirect', location: `http://localhost:${storage.port}${r.path}` }
          : { kind: 'pass' },
    });
    const store = newStore();
    const res = await pull(`${front.host}/test/busybox:v1`, { store, credentials: ALICE });
    assert.equal(res.record.id, image.configDigest);
    assert.ok(storage.requests.length >= 4, 'blobs came from the redirect target');
    for (const r of storage.requests) assert.equal(r.headers.authorization, undefined, `credentials leaked to ${r.path}`);
    assert.ok(front.requests.some((r) => r.headers.authorization === basic));
  });
});

describe('pull through failures', () => {
  test('503s are retried', async () => {
    const front = await proxy({
      upstreamPort: open.port,
      decide: (r, n) => (r.path.includes('/manifests/') && n < 2 ? { kind: 'status', status: 503 } : { kind: 'pass' }),
    });
    const store = newStore();
    const res = await pull(`${front.host}/test/busybox:v1`, { store });
    assert.equal(res.record.id, image.configDigest);
    assert.equal(front.requests.filter((r) => r.path.includes('/manifests/v1')).length, 3);
  });

  test('a 404 is not retried', async () => {
    const front = await proxy({ upstreamPort: open.port });
    await assert.rejects(pull(`${front.host}/test/busybox:v404`, { store: newStore() }), { code: 'ENOTFOUND' });
    assert.equal(front.requests.filter((r) => r.path.includes('/manifests/v404')).length, 1);
  });

  test('a connection cut mid-blob: retried, or a clear error after the last attempt', async () => {
    const big = image.layers[1];
    const cutOnce = await proxy({
      upstreamPort: open.port,
      decide: (r, n) => (r.path.endsWith(big.digest) && n === 0 ? { kind: 'cut', afterBytes: 100_000 } : { kind: 'pass' }),
    });
    const events: PullEvent[] = [];
    const store = newStore();
    await pull(`${cutOnce.host}/test/busybox:v1`, { store, onProgress: (e) => events.push(e) });
    assert.ok(events.some((e) => e.type === 'layer' && e.status === 'Retrying'));
    // The second request resumed where the first one broke instead of starting over.
    const blobGets = cutOnce.requests.filter((r) => r.path.endsWith(big.digest));
    assert.equal(blobGets.length, 2);
    assert.equal(blobGets[0].headers.range, undefined);
    assert.match(String(blobGets[1].headers.range), /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(String(blobGets[1].headers.range))![0]) > 0);

    const cutAlways = await proxy({
      upstreamPort: open.port,
      decide: (r) => (r.path.endsWith(big.digest) ? { kind: 'cut', afterBytes: 100_000 } : { kind: 'pass' }),
    });
    const store2 = newStore();
    await assert.rejects(pull(`${cutAlways.host}/test/busybox:v1`, { store: store2, blobAttempts: 2 }), {
      code: 'EREGISTRY',
      message: new RegExp(`^blob ${big.digest} from ${cutAlways.host}/test/busybox: download interrupted at byte \\d+ after 2 attempt\\(s\\)`),
    });
    assert.equal(store2.images.list().length, 0);
    assert.equal(store2.blobs.has(big.digest), false);
    assertConsistent(store2);
  });

  test('a stalled download times out, resumes, and finally fails clearly', async () => {
    const big = image.layers[1];
    const stall = await proxy({
      upstreamPort: open.port,
      decide: (r) => (r.path.endsWith(big.digest) ? { kind: 'stall', afterBytes: 200_000 } : { kind: 'pass' }),
    });
    const store = newStore();
    const events: PullEvent[] = [];
    await assert.rejects(
      pull(`${stall.host}/test/busybox:v1`, { store, timeoutMs: 300, blobAttempts: 2, onProgress: (e) => events.push(e) }),
      { code: 'EREGISTRY', message: /download interrupted at byte \d+ after 2 attempt/ },
    );
    assert.ok(events.some((e) => e.type === 'layer' && e.status === 'Retrying'));
    assert.equal(store.images.list().length, 0);
  });

  test('a pull killed mid-download leaves nothing listed; the next pull completes', async () => {
    const big = image.layers[1];
    const front = await proxy({
      upstreamPort: open.port,
      decide: (r) => (r.path.endsWith(big.digest) ? { kind: 'stall', afterBytes: 500_000 } : { kind: 'pass' }),
    });
    const root = tempDir('store-killed');
    const script = `const {pull}=require(${JSON.stringify(path.resolve(__dirname, '../../src/image/pull'))});` +
      `const {openStore}=require(${JSON.stringify(path.resolve(__dirname, '../../src/storage/store'))});` +
      `pull(process.argv[1],{store:openStore(process.argv[2])}).then(()=>process.exit(3),()=>process.exit(4));`;
    const child = spawn(process.execPath, ['-e', script, `${front.host}/test/busybox:v1`, root], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Wait until the stalled blob is being written under tmp/, then kill -9.
    const deadline = Date.now() + 15_000;
    const inFlight = (): boolean =>
      fs.existsSync(path.join(root, 'tmp')) && fs.readdirSync(path.join(root, 'tmp')).some((n) => n.includes('blob'));
    while (!inFlight() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(inFlight(), 'the child got as far as downloading');
    child.kill('SIGKILL');
    assert.equal(await exited, null);
    const store = openStore(root);
    assert.equal(store.images.list().length, 0);
    assert.equal(store.blobs.has(big.digest), false);
    assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), [], 'debris of the dead pull was swept');
    const res = await pull(`${open.host}/test/busybox:v1`, { store });
    assert.equal(res.record.id, image.configDigest);
    assertConsistent(store);
  });

  test('a full disk (small tmpfs store): clear error, nothing listed, next pull works after growing it', async (t) => {
    const root = tempDir('store-tmpfs');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'carton-test-tmpfs', root]);
    t.after(() => execFileSync('umount', ['-l', root]));
    const store = openStore(root);
    await assert.rejects(pull(`${open.host}/test/busybox:v1`, { store }), (err: Error & { hint?: string }) => {
      assert.match(err.message, /no space left on device/);
      assert.match(err.hint ?? '', /free space/);
      return true;
    });
    assert.equal(store.images.list().length, 0);
    assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), [], 'no half-written blob or layer left in tmp/');
    assertConsistent(store);
    execFileSync('mount', ['-o', 'remount,size=64m', root]);
    const res = await pull(`${open.host}/test/busybox:v1`, { store });
    assert.equal(res.record.id, image.configDigest);
    assertConsistent(store);
  });

  test('a tampered blob: EDIGEST, nothing listed, and the next pull after repair works', async () => {
    const reg = await startRegistry();
    stops.push(reg.stop);
    await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`);
    const victim = image.layers[2];
    const file = reg.blobPath(victim.digest);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 5] ^= 0xff;
    fs.writeFileSync(file, bad);
    const store = newStore();
    await assert.rejects(pull(`${reg.host}/test/busybox:v1`, { store }), { code: 'EDIGEST', message: new RegExp(`digest mismatch: blob ${victim.digest}`) });
    assert.equal(store.images.list().length, 0);
    assert.equal(store.blobs.has(victim.digest), false);
    assertConsistent(store);
    fs.writeFileSync(file, good);
    const res = await pull(`${reg.host}/test/busybox:v1`, { store });
    assert.equal(res.record.id, image.configDigest);
    assertConsistent(store);
  });
});
