/**
 * Layer application on the real filesystem (root): metadata fidelity, and malicious layers
 * that try to write outside the layer directory.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { after, before, test } from 'node:test';
import { CartonError } from '../../src/common/errors';
import { openStore, Store } from '../../src/storage/store';
import { getXattrs, splitDev } from '../../src/storage/sys';
import { Entry, sha256, tarOf, tempDir } from '../storage/fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;
let outside: string;

before(() => {
  tmp = tempDir('apply');
  store = openStore(path.join(tmp.dir, 'store'));
  outside = path.join(tmp.dir, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'shadow'), 'secret\n');
});
after(() => tmp.cleanup());

async function ensure(entries: Entry[], parent: string | null = null) {
  const tar = tarOf(entries);
  const digest = sha256(tar);
  await store.blobs.ingest({ digest, size: tar.length }, Readable.from([tar]));
  return store.layers.ensure({ diffId: digest }, parent);
}

/** Nothing changed in `outside`, no layer half-created, tmp/ empty. */
function assertNothingEscaped(layersBefore: number): void {
  assert.deepEqual(fs.readdirSync(outside).sort(), ['shadow']);
  assert.equal(fs.readFileSync(path.join(outside, 'shadow'), 'utf8'), 'secret\n');
  assert.equal(fs.statSync(path.join(outside, 'shadow')).nlink, 1);
  assert.equal(store.layers.list().length, layersBefore);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
}

test('devices, fifo, setuid, ownership, mtimes, hardlinks, symlinks and binary xattrs are kept', async () => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep, v2
  const info = await ensure([
    { name: 'bin', type: 'dir', mode: 0o711, uid: 0, gid: 0, mtime: 1111 },
    { name: 'bin/su', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 2222, data: 'su' },
    { name: 'bin/ping', type: 'file', mode: 0o755, mtime: 3333, data: 'ping', xattrs: { 'security.capability': cap, 'user.k': 'v' } },
    { name: 'bin/sgid', type: 'file', mode: 0o2711, uid: 1000, gid: 50, data: 'x' },
    { name: 'bin/su-again', type: 'link', linkname: 'bin/su' },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox', uid: 7, gid: 8, mtime: 4444 },
    { name: 'dev/null', type: 'chardev', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'dev/loop9', type: 'blockdev', mode: 0o660, devmajor: 7, devminor: 9, gid: 6 },
    { name: 'run/pipe', type: 'fifo', mode: 0o620 },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
  ]);
  const d = info.diffDir;
  const su = fs.lstatSync(path.join(d, 'bin/su'));
  assert.equal(su.mode & 0o7777, 0o4755);
  assert.equal(su.mtimeMs, 2222000);
  assert.equal(su.nlink, 2);
  assert.equal(fs.lstatSync(path.join(d, 'bin/su-again')).ino, su.ino);
  const sgid = fs.lstatSync(path.join(d, 'bin/sgid'));
  assert.deepEqual([sgid.mode & 0o7777, sgid.uid, sgid.gid], [0o2711, 1000, 50]);
  const sh = fs.lstatSync(path.join(d, 'bin/sh'));
  assert.ok(sh.isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(d, 'bin/sh')), '/bin/busybox');
  assert.deepEqual([sh.uid, sh.gid, sh.mtimeMs], [7, 8, 4444000]);
  const bin = fs.lstatSync(path.join(d, 'bin'));
  assert.deepEqual([bin.mode & 0o7777, bin.mtimeMs], [0o711, 1111000]);
  const nul = fs.lstatSync(path.join(d, 'dev/null'));
  assert.ok(nul.isCharacterDevice());
  assert.deepEqual(splitDev(nul.rdev), { major: 1, minor: 3 });
  assert.equal(nul.mode & 0o7777, 0o666);
  const loop = fs.lstatSync(path.join(d, 'dev/loop9'));
  assert.ok(loop.isBlockDevice());
  assert.deepEqual(splitDev(loop.rdev), { major: 7, minor: 9 });
  assert.ok(fs.lstatSync(path.join(d, 'run/pipe')).isFIFO());
  assert.equal(fs.lstatSync(path.join(d, 'tmp')).mode & 0o7777, 0o1777);
  const xattrs = getXattrs([path.join(d, 'bin/ping')]).get(path.join(d, 'bin/ping'));
  assert.deepEqual(xattrs?.get('security.capability'), cap);
  assert.equal(xattrs?.get('user.k')?.toString(), 'v');
});

test('whiteouts become overlay whiteouts, opaque markers the opaque xattr', async () => {
  const info = await ensure([
    { name: 'etc/redirected', type: 'dir', xattrs: { 'trusted.overlay.redirect': '/bin', 'trusted.overlay.metacopy': '', 'user.ok': '1' } },
    { name: 'etc/.wh.motd', type: 'file', data: '' },
    { name: 'var/cache/.wh..wh..opq', type: 'file', data: '' },
    { name: 'var/cache/keep', type: 'file', data: 'k' },
  ]);
  const wh = fs.lstatSync(path.join(info.diffDir, 'etc/motd'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.ok(!fs.existsSync(path.join(info.diffDir, 'etc/.wh.motd')));
  const redirected = path.join(info.diffDir, 'etc/redirected');
  assert.deepEqual([...(getXattrs([redirected]).get(redirected)?.keys() ?? [])], ['user.ok'], 'overlay xattrs from a tar are dropped');
  const cache = path.join(info.diffDir, 'var/cache');
  assert.equal(getXattrs([cache]).get(cache)?.get('trusted.overlay.opaque')?.toString(), 'y');
});

const malicious: Array<[string, Entry[], RegExp]> = [
  ['dot-dot traversal', [{ name: '../outside/evil', type: 'file', data: 'x' }], /points outside the layer/],
  ['deep traversal', [{ name: 'a/b/../../../outside/evil', type: 'file', data: 'x' }], /points outside the layer/],
  ['absolute name', [{ name: '/tmp/carton-test-evil', type: 'file', data: 'x' }], /absolute path/],
  ['symlink escape created earlier in the layer', [
    { name: 'escape', type: 'symlink', linkname: '' },
    { name: 'escape/evil', type: 'file', data: 'x' },
  ], /is a symlink; refusing/],
  ['directory replaced by a symlink, then written through', [
    { name: 'a/first', type: 'file', data: '1' },
    { name: 'a', type: 'symlink', linkname: '' },
    { name: 'a/evil', type: 'file', data: 'x' },
  ], /is a symlink; refusing/],
  ['hardlink to a file outside', [{ name: 'shadow', type: 'link', linkname: '../outside/shadow' }], /points outside the layer/],
  ['hardlink to /etc/shadow', [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }], /absolute path/],
  ['hardlink through a symlink', [
    { name: 'etc', type: 'symlink', linkname: '' },
    { name: 'shadow', type: 'link', linkname: 'etc/shadow' },
  ], /goes through a symlink/],
  ['whiteout through a symlink', [
    { name: 'w', type: 'symlink', linkname: '' },
    { name: 'w/.wh.shadow', type: 'file', data: '' },
  ], /is a symlink; refusing/],
  ['opaque marker through a symlink', [
    { name: 'o', type: 'symlink', linkname: '' },
    { name: 'o/.wh..wh..opq', type: 'file', data: '' },
  ], /is a symlink; refusing/],
];

for (const [what, entries, expected] of malicious) {
  test(`malicious layer refused: ${what}`, async () => {
    // symlink targets are the real outside dir (filled in here: it is only known at run time)
    const fixed = entries.map((e) => (e.type === 'symlink' && e.linkname === '' ? { ...e, linkname: outside } : e));
    const before = store.layers.list().length;
    await assert.rejects(ensure(fixed), (err: unknown) => {
      assert.ok(err instanceof CartonError, String(err));
      assert.equal(err.code, 'EINVAL_CONFIG');
      assert.match(err.message, /^layer sha256:[0-9a-f]{64}: entry '/);
      assert.match(err.message, expected);
      return true;
    });
    assertNothingEscaped(before);
    assert.ok(!fs.existsSync('/tmp/carton-test-evil'));
  });
}

test('a layer with an absurd header size is refused and leaves nothing', async () => {
  const tar = tarOf([{ name: 'big', type: 'file', data: 'x' }]);
  tar[124] = 0x80; // GNU base-256 size field...
  tar.fill(0xff, 125, 136); // ...of about 2^88 bytes
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i];
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  const digest = sha256(tar);
  await store.blobs.ingest({ digest, size: tar.length }, Readable.from([tar]));
  const before = store.layers.list().length;
  await assert.rejects(store.layers.ensure({ diffId: digest }, null), /^CartonError: layer sha256:[0-9a-f]{64}: size in header is absurdly large$/);
  assertNothingEscaped(before);
});

test('a file replacing a symlink is written in the layer, not through the symlink', async () => {
  const info = await ensure([
    { name: 'target', type: 'symlink', linkname: path.join(outside, 'shadow') },
    { name: 'target', type: 'file', data: 'mine' },
  ]);
  assert.equal(fs.readFileSync(path.join(info.diffDir, 'target'), 'utf8'), 'mine');
  assertNothingEscaped(store.layers.list().length);
});

test('a layer whose content does not match its diff_id is refused', async () => {
  const tar = tarOf([{ name: 'f', type: 'file', data: 'x' }]);
  const digest = sha256(tar);
  await store.blobs.ingest({ digest, size: tar.length }, Readable.from([tar]));
  const before = store.layers.list().length;
  const wrong = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(store.layers.ensure({ diffId: wrong, compressedDigest: digest }, null), (err: unknown) => {
    assert.ok(err instanceof CartonError);
    assert.equal(err.code, 'EDIGEST');
    assert.match(err.message, /uncompressed content has digest sha256:[0-9a-f]{64}, config says sha256:0{64}/);
    return true;
  });
  assertNothingEscaped(before);
});
