/**
 * Image archives against real tools: an OCI layout built with our tar writer is converted by
 * skopeo to docker-archive and oci-archive and loaded; archives Carton saves load in Podman
 * (private --root) and are read by skopeo; Podman's own saves load back with the same image
 * id; `import` of a rootfs tarball runs; bad archives are refused and change nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import * as zlib from 'zlib';
import { after, before, test } from 'node:test';
import { importRootfs } from '../../src/archive/import';
import { loadArchive, loadArchiveStream } from '../../src/archive/load';
import { saveImages, saveImagesToStream, saveItems } from '../../src/archive/save';
import { CartonError } from '../../src/common/errors';
import { tarDirectory } from '../../src/layer/tar-dir';
import { packTar } from '../../src/layer/tar-writer';
import { MEDIA } from '../../src/storage/image-types';
import { openStore, Store } from '../../src/storage/store';
import { busyboxEntries, compress, imageConfig, sha256, tarOf, tempDir } from '../storage/fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;
let layout: string;
let podmanDirs: string;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function podman(...args: string[]): string {
  return run('podman', ['--root', path.join(podmanDirs, 'root'), '--runroot', path.join(podmanDirs, 'run'),
    '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs', ...args]);
}

const TOP = [
  { name: 'etc/.wh.group', type: 'file' as const, data: '' },
  { name: 'usr/bin/su', type: 'file' as const, mode: 0o4755, data: 'setuid' },
  { name: 'usr/bin/su-link', type: 'link' as const, linkname: 'usr/bin/su' },
  { name: 'hello', type: 'symlink' as const, linkname: 'usr/bin/su' },
];

/** An OCI image layout directory ("oci:" in skopeo terms) written with our own tar writer. */
function writeLayout(dir: string): { manifestDigest: string; configDigest: string } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer): string => {
    const d = sha256(data);
    fs.writeFileSync(path.join(blobs, d.slice(7)), data);
    return d;
  };
  const base = tarOf(busyboxEntries());
  const top = tarOf(TOP);
  const baseGz = compress(base, 'gzip');
  const layers = [
    { mediaType: baseGz.mediaType, digest: put(baseGz.data), size: baseGz.data.length },
    { mediaType: MEDIA.ociLayerTar, digest: put(top), size: top.length },
  ];
  const config = Buffer.from(JSON.stringify(imageConfig([sha256(base), sha256(top)])));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: put(config), size: config.length }, layers,
  }));
  const manifestDigest = put(manifest);
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: MEDIA.ociManifest, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }));
  return { manifestDigest, configDigest: sha256(config) };
}

let ids: { manifestDigest: string; configDigest: string };

before(() => {
  tmp = tempDir('archive');
  store = openStore(path.join(tmp.dir, 'store'));
  layout = path.join(tmp.dir, 'layout');
  ids = writeLayout(layout);
  podmanDirs = path.join(tmp.dir, 'podman');
});
after(() => {
  if (fs.existsSync(podmanDirs)) spawnSync('podman', ['--root', path.join(podmanDirs, 'root'), '--runroot', path.join(podmanDirs, 'run'), '--storage-driver', 'vfs', 'system', 'reset', '-f']);
  tmp.cleanup();
});

function checkLoadedImage(id: string): void {
  const img = store.images.get(id)!;
  assert.ok(img, 'image recorded');
  assert.equal(img.id, ids.configDigest);
  const top = store.layers.get(img.layers[1].chainId)!;
  const su = fs.lstatSync(path.join(top.diffDir, 'usr/bin/su'));
  assert.equal(su.mode & 0o7777, 0o4755);
  assert.equal(su.nlink, 2);
  assert.ok(fs.lstatSync(path.join(top.diffDir, 'etc/group')).isCharacterDevice());
  assert.ok(fs.existsSync(path.join(store.layers.get(img.layers[0].chainId)!.diffDir, 'bin/busybox')));
}

test('an OCI layout directory loads, named from its ref.name tag', async () => {
  const res = await loadArchive(store, layout, { name: 'carton-test/dir' });
  assert.deepEqual(res.lines, ['Loaded image: docker.io/carton-test/dir:v1']);
  assert.equal(res.images[0].manifestDigest, ids.manifestDigest);
  checkLoadedImage(res.images[0].id);
});

test('skopeo docker-archive and oci-archive copies load', async () => {
  const da = path.join(tmp.dir, 'skopeo-docker.tar');
  run('skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${da}:carton-test/skopeo:v1`]);
  const r1 = await loadArchive(store, da);
  assert.deepEqual(r1.lines, ['Loaded image: docker.io/carton-test/skopeo:v1']);
  checkLoadedImage(r1.images[0].id);

  const oa = path.join(tmp.dir, 'skopeo-oci.tar');
  run('skopeo', ['copy', '-q', `oci:${layout}:v1`, `oci-archive:${oa}:v2`]);
  const r2 = await loadArchive(store, oa, { name: 'carton-test/ocia' });
  assert.deepEqual(r2.lines, ['Loaded image: docker.io/carton-test/ocia:v2']);
  checkLoadedImage(r2.images[0].id);
  assert.equal(store.images.list().length, 1, 'same config: one image with three names');
  assert.equal(store.images.get(ids.configDigest)!.names.length, 3);
});

test('docker-archive saved by Carton loads in Podman, and Podman saves load back', async () => {
  const out = path.join(tmp.dir, 'carton-docker.tar');
  await saveImages(store, saveItems(store, ['carton-test/skopeo:v1']), out, 'docker-archive');
  assert.match(run('skopeo', ['inspect', `docker-archive:${out}`]), new RegExp(`"Digest"`));
  fs.mkdirSync(podmanDirs);
  assert.match(podman('load', '-i', out), /Loaded image: docker.io\/carton-test\/skopeo:v1/);
  const listed = podman('images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}');
  assert.match(listed, new RegExp(`docker.io/carton-test/skopeo:v1 (sha256:)?${ids.configDigest.slice(7)}`));
  // podman's view of the layers is ours: same diff ids
  const inspect = JSON.parse(podman('image', 'inspect', 'carton-test/skopeo:v1'))[0];
  assert.deepEqual(inspect.RootFS.Layers, store.images.config(ids.configDigest).rootfs.diff_ids);

  const fresh = openStore(path.join(tmp.dir, 'store2'));
  for (const format of ['docker-archive', 'oci-archive']) {
    const p = path.join(tmp.dir, `podman-${format}.tar`);
    podman('save', '-q', '--format', format, '-o', p, 'carton-test/skopeo:v1');
    const res = await loadArchive(fresh, p, { name: 'carton-test/from-podman' });
    assert.equal(res.images[0].id, ids.configDigest, `${format}: same image id after the round trip`);
    assert.ok(res.images[0].names.length >= 1, `${format}: named (${res.lines})`);
  }
});

test('OCI archive and directory saved by Carton are read by skopeo and load back', async () => {
  const oa = path.join(tmp.dir, 'carton-oci.tar');
  await saveImages(store, saveItems(store, ['carton-test/dir:v1']), oa, 'oci-archive');
  const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${oa}`]));
  // the manifest as last loaded (skopeo re-serialised it in the previous test) is kept byte for byte
  const manifestDigest = store.images.get(ids.configDigest)!.manifestDigest;
  assert.equal(info.Digest, manifestDigest);
  assert.equal(info.Layers.length, 2);
  const od = path.join(tmp.dir, 'carton-oci-dir');
  await saveImages(store, saveItems(store, [ids.configDigest.slice(7, 19)]), od, 'oci-dir');
  assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${od}`])).Digest, manifestDigest);
  const fresh = openStore(path.join(tmp.dir, 'store3'));
  const res = await loadArchive(fresh, oa);
  assert.deepEqual(res.lines, ['Loaded image: docker.io/carton-test/dir:v1']);
  assert.deepEqual((await loadArchive(fresh, od)).lines, [`Loaded image ID: ${ids.configDigest}`]);
});

test('save to a stream and load from a stream (docker save | docker load)', async () => {
  const { PassThrough } = await import('stream');
  const pipe = new PassThrough();
  const chunks: Buffer[] = [];
  pipe.on('data', (c: Buffer) => chunks.push(c));
  await saveImagesToStream(store, saveItems(store, ['carton-test/skopeo:v1']), pipe, 'docker-archive');
  pipe.end();
  const fresh = openStore(path.join(tmp.dir, 'store-stream'));
  const res = await loadArchiveStream(fresh, Readable.from([Buffer.concat(chunks)]));
  assert.deepEqual(res.lines, ['Loaded image: docker.io/carton-test/skopeo:v1']);
  assert.equal(res.images[0].id, ids.configDigest);
  await assert.rejects(loadArchiveStream(fresh, Readable.from([Buffer.from('nope'.repeat(200))])), /^CartonError: archive from stdin: not a valid tar archive/);
  await assert.rejects(loadArchiveStream(fresh, Readable.from([])), /stdin is empty/);
  assert.deepEqual(fs.readdirSync(path.join(fresh.root, 'tmp')), []);
});

test('classic `docker save` layout: <id>/layer.tar members, a symlinked duplicate, gzip-compressed archive', async () => {
  const l1 = tarOf([{ name: 'one', type: 'file', data: '1' }]);
  const l2 = tarOf([{ name: 'two', type: 'file', data: '2' }]);
  const cfgA = Buffer.from(JSON.stringify(imageConfig([sha256(l1), sha256(l2)])));
  const cfgB = Buffer.from(JSON.stringify(imageConfig([sha256(l1)], { created: '2024-02-02T00:00:00Z' })));
  const archive = packTar([
    { name: 'aaaa', type: 'dir' },
    { name: 'aaaa/VERSION', type: 'file', data: '1.0' },
    { name: 'aaaa/json', type: 'file', data: '{}' },
    { name: 'aaaa/layer.tar', type: 'file', data: l1 },
    { name: 'bbbb', type: 'dir' },
    { name: 'bbbb/layer.tar', type: 'file', data: l2 },
    { name: 'cccc', type: 'dir' },
    { name: 'cccc/layer.tar', type: 'symlink', linkname: '../aaaa/layer.tar' },
    { name: `${sha256(cfgA).slice(7)}.json`, type: 'file', data: cfgA },
    { name: `${sha256(cfgB).slice(7)}.json`, type: 'file', data: cfgB },
    { name: 'manifest.json', type: 'file', data: JSON.stringify([
      { Config: `${sha256(cfgA).slice(7)}.json`, RepoTags: ['carton-test/classic:a'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] },
      { Config: `${sha256(cfgB).slice(7)}.json`, RepoTags: null, Layers: ['cccc/layer.tar'] },
    ]) },
    { name: 'repositories', type: 'file', data: JSON.stringify({ 'carton-test/classic': { a: 'bbbb' } }) },
  ]);
  const file = path.join(tmp.dir, 'classic.tar.gz');
  fs.writeFileSync(file, zlib.gzipSync(archive));
  const fresh = openStore(path.join(tmp.dir, 'store-classic'));
  const res = await loadArchive(fresh, file);
  assert.deepEqual(res.lines, ['Loaded image: docker.io/carton-test/classic:a', `Loaded image ID: ${sha256(cfgB)}`]);
  assert.equal(res.images[1].layers[0].chainId, res.images[0].layers[0].chainId, 'the symlinked layer is the same layer');
  assert.equal(fresh.layers.list().length, 2);
  assert.deepEqual(fs.readdirSync(path.join(fresh.root, 'tmp')), []);
});

test('import turns a rootfs tarball into a one-layer image that runs', async (t) => {
  const rootfs = path.join(tmp.dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh'));
  const chunks: Buffer[] = [];
  for await (const c of tarDirectory(rootfs)) chunks.push(c);
  const tgz = path.join(tmp.dir, 'rootfs.tar.gz');
  fs.writeFileSync(tgz, zlib.gzipSync(Buffer.concat(chunks)));
  const img = await importRootfs(store, tgz, { name: 'carton-test/imported:1', config: { Cmd: ['sh'] } });
  assert.deepEqual(img.names, ['docker.io/carton-test/imported:1']);
  assert.equal(img.layers.length, 1);
  assert.equal(img.layers[0].diffId, sha256(Buffer.concat(chunks)));
  const snap = await store.snapshots.prepare('carton-test-imported', img.id);
  t.after(() => snap.cleanup());
  assert.equal(run('chroot', [snap.rootfs, '/bin/sh', '-c', 'echo imported']), 'imported\n');
});

test('bad archives are refused with a clear error and change nothing', async () => {
  // a fresh store: blobs already present are (rightly) not read again, which would hide tampering
  const store = openStore(path.join(tmp.dir, 'store-bad'));
  await loadArchive(store, path.join(tmp.dir, 'skopeo-docker.tar'));
  const before = JSON.stringify(store.images.list());
  const cases: Array<[string, Buffer, string, RegExp]> = [];
  cases.push(['not-a-tar', Buffer.from('this is not a tar archive at all'.repeat(40)), 'EINVAL_CONFIG', /: not a valid tar archive \(/]);
  cases.push(['no-manifest', packTar([{ name: 'hello.txt', type: 'file', data: 'hi' }]), 'EINVAL_CONFIG', /not an image archive \(no manifest.json or index.json\)/]);
  // docker-archive whose layer does not match its config's diff_id
  const good = tarOf([{ name: 'a', type: 'file', data: 'a' }]);
  const evil = tarOf([{ name: 'a', type: 'file', data: 'evil' }]);
  const cfg = Buffer.from(JSON.stringify(imageConfig([sha256(good)])));
  cases.push(['tampered-docker', packTar([
    { name: 'manifest.json', type: 'file', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['carton-test/bad:1'], Layers: ['l.tar'] }]) },
    { name: 'c.json', type: 'file', data: cfg },
    { name: 'l.tar', type: 'file', data: evil },
  ]), 'EDIGEST', new RegExp(`blob ${sha256(good)}: `)]);
  // OCI layout whose layer blob was replaced
  const badLayout = path.join(tmp.dir, 'bad-layout');
  fs.cpSync(layout, badLayout, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(badLayout, 'blobs/sha256', ids.manifestDigest.slice(7)), 'utf8'));
  fs.writeFileSync(path.join(badLayout, 'blobs/sha256', manifest.layers[0].digest.slice(7)), evil);
  cases.push(['tampered-oci', Buffer.alloc(0), 'EDIGEST', new RegExp(`blob ${manifest.layers[0].digest}: `)]);
  // a manifest.json pointing at a member that is not there
  cases.push(['missing-layer', packTar([
    { name: 'manifest.json', type: 'file', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['carton-test/bad:2'], Layers: ['nope.tar'] }]) },
    { name: 'c.json', type: 'file', data: cfg },
  ]), 'EINVAL_CONFIG', /missing nope.tar/]);
  for (const [name, data, code, pattern] of cases) {
    const file = name === 'tampered-oci' ? badLayout : path.join(tmp.dir, `${name}.tar`);
    if (name !== 'tampered-oci') fs.writeFileSync(file, data);
    await assert.rejects(loadArchive(store, file).then(() => assert.fail(`${name}: loaded`)), (err: unknown) => {
      assert.ok(err instanceof CartonError, `${name}: ${err}`);
      assert.equal(err.code, code, `${name}: ${err.message}`);
      assert.match(err.message, pattern, name);
      return true;
    });
    assert.equal(JSON.stringify(store.images.list()), before, `${name}: no image added`);
    assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), [], `${name}: no debris`);
  }
  await assert.rejects(loadArchive(store, path.join(tmp.dir, 'absent.tar')), /no such file or directory/);
});
