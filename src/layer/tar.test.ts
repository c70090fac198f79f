import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanEntryPath } from './apply';
import { chainId, chainIds } from './chain';
import { TarEntry, TarParser } from './tar-reader';
import { encodeHeader, END_OF_ARCHIVE, packTar, padding } from './tar-writer';

interface Parsed {
  entry: TarEntry;
  body: Buffer;
}

/** Parse a whole buffer, feeding it in chunks of `chunk` bytes to exercise the state machine. */
function parse(buf: Buffer, chunk = 7): Parsed[] {
  const out: Parsed[] = [];
  let cur: Buffer[] = [];
  const parser = new TarParser({
    entry: (e) => {
      cur = [];
      out.push({ entry: e, body: Buffer.alloc(0) });
    },
    data: (c) => cur.push(Buffer.from(c)),
    entryEnd: () => {
      out[out.length - 1].body = Buffer.concat(cur);
    },
  }, 'test.tar');
  for (let i = 0; i < buf.length; i += chunk) parser.push(buf.subarray(i, i + chunk));
  parser.end();
  return out;
}

test('round trip of every entry type with metadata', () => {
  const tar = packTar([
    { name: 'bin', type: 'dir', mode: 0o755, mtime: 1000 },
    { name: 'bin/su', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 1234, data: 'ELF' },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime: 5 },
    { name: 'bin/su2', type: 'link', linkname: 'bin/su' },
    { name: 'dev/null', type: 'chardev', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'dev/sda', type: 'blockdev', mode: 0o660, devmajor: 8, devminor: 0 },
    { name: 'run/fifo', type: 'fifo', mode: 0o644, uid: 1000, gid: 1001 },
  ]);
  const got = parse(tar);
  assert.deepEqual(got.map((p) => [p.entry.name, p.entry.type]), [
    ['bin/', 'dir'], ['bin/su', 'file'], ['bin/sh', 'symlink'], ['bin/su2', 'link'],
    ['dev/null', 'chardev'], ['dev/sda', 'blockdev'], ['run/fifo', 'fifo'],
  ]);
  assert.equal(got[1].entry.mode, 0o4755);
  assert.equal(got[1].entry.mtime, 1234);
  assert.equal(got[1].body.toString(), 'ELF');
  assert.equal(got[2].entry.linkname, 'busybox');
  assert.equal(got[4].entry.devmajor, 1);
  assert.equal(got[4].entry.devminor, 3);
  assert.equal(got[6].entry.uid, 1000);
  assert.equal(got[6].entry.gid, 1001);
});

test('long names and links go through PAX, binary xattrs survive byte for byte', () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x0a, 0x3d, 0x00]);
  const tar = packTar([
    { name: long, type: 'file', data: 'x', xattrs: { 'security.capability': cap, 'user.note': 'hi' } },
    { name: 'l', type: 'symlink', linkname: 'y'.repeat(300) },
    { name: `${'p'.repeat(130)}/short`, type: 'file', data: '' }, // fits ustar prefix/name split
    { name: 'big-ids', type: 'file', uid: 3_000_000, gid: 4_000_000, data: '' },
  ]);
  const got = parse(tar, 513);
  assert.equal(got[0].entry.name, long);
  assert.deepEqual(got[0].entry.xattrs.get('security.capability'), cap);
  assert.equal(got[0].entry.xattrs.get('user.note')?.toString(), 'hi');
  assert.equal(got[1].entry.linkname, 'y'.repeat(300));
  assert.equal(got[2].entry.name, `${'p'.repeat(130)}/short`);
  assert.equal(got[3].entry.uid, 3_000_000);
  assert.equal(got[3].entry.gid, 4_000_000);
});

test('GNU long name (L) and long link (K) headers', () => {
  const name = 'n'.repeat(200);
  const link = 't'.repeat(180);
  const gnu = (flag: string, body: string): Buffer => {
    const h = encodeHeader({ name: '././@LongLink', type: 'file', size: body.length + 1 });
    h.write(flag, 156, 1, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    const data = Buffer.from(`${body}\0`);
    return Buffer.concat([h, data, padding(data.length)]);
  };
  const tar = Buffer.concat([
    gnu('L', name), gnu('K', link),
    encodeHeader({ name: name.slice(0, 100), type: 'symlink', linkname: link.slice(0, 100) }),
    END_OF_ARCHIVE,
  ]);
  const got = parse(tar);
  assert.equal(got.length, 1);
  assert.equal(got[0].entry.name, name);
  assert.equal(got[0].entry.linkname, link);
});

test('LIBARCHIVE.xattr values are base64 and names URL-encoded', () => {
  const pax = Buffer.from('40 LIBARCHIVE.xattr.user.a%20b=AP8BAg==\n');
  const h = encodeHeader({ name: 'PaxHeaders/f', type: 'file', size: pax.length });
  h.write('x', 156, 1, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  const tar = Buffer.concat([h, pax, padding(pax.length), packTar([{ name: 'f', type: 'file', data: '' }])]);
  const got = parse(tar);
  assert.deepEqual(got[0].entry.xattrs.get('user.a b'), Buffer.from([0, 255, 1, 2]));
});

function corrupt(mutate: (h: Buffer) => void, fixChecksum = true): Buffer {
  const tar = packTar([{ name: 'f', type: 'file', data: 'abc' }]);
  const h = tar.subarray(0, 512);
  mutate(h);
  if (fixChecksum) {
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  }
  return tar;
}

test('absurd, negative and malformed numbers are refused without allocating', () => {
  const huge = corrupt((h) => { h[124] = 0x80; h.fill(0xff, 125, 136); });
  assert.throws(() => parse(huge), /size in header is absurdly large/);
  const negative = corrupt((h) => { h.fill(0xff, 124, 136); });
  assert.throws(() => parse(negative), /negative size/);
  const notOctal = corrupt((h) => h.write('9999', 124, 4, 'latin1'));
  assert.throws(() => parse(notOctal), /not octal/);
  const badSum = corrupt((h) => h.write('g', 0, 1), false);
  assert.throws(() => parse(badSum), /bad header checksum/);
  const bigPax = corrupt((h) => { h.write('x', 156, 1, 'latin1'); h.write('77777777777\0', 124, 12, 'latin1'); });
  assert.throws(() => parse(bigPax), /x header of \d+ bytes exceeds/);
  const paxSize = Buffer.from('29 size=99999999999999999999\n');
  assert.equal(paxSize.length, 29);
  const h = encodeHeader({ name: 'p', type: 'file', size: paxSize.length });
  h.write('x', 156, 1, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  const withPax = Buffer.concat([h, paxSize, padding(paxSize.length), packTar([{ name: 'f', type: 'file', data: '' }])]);
  assert.throws(() => parse(withPax), /PAX size .* is not a valid number/);
});

test('a truncated archive is an error, trailing garbage after the end marker is not', () => {
  const tar = packTar([{ name: 'f', type: 'file', data: 'x'.repeat(2000) }]);
  assert.throws(() => parse(tar.subarray(0, 1000)), /unexpected end of archive/);
  assert.equal(parse(Buffer.concat([tar, Buffer.from('junk')])).length, 1);
});

test('cleanEntryPath keeps names inside the root', () => {
  assert.deepEqual(cleanEntryPath('./a/b/'), ['a', 'b']);
  assert.deepEqual(cleanEntryPath('a/../b'), ['b']);
  assert.deepEqual(cleanEntryPath('./'), []);
  assert.throws(() => cleanEntryPath('../etc/passwd'), /outside the layer/);
  assert.throws(() => cleanEntryPath('a/../../etc'), /outside the layer/);
  assert.throws(() => cleanEntryPath('/etc/passwd'), /absolute path/);
});

test('chain ids follow the image spec', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  assert.equal(chainId(null, a), a);
  const ab = chainId(a, b);
  assert.match(ab, /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(ab, b);
  assert.deepEqual(chainIds([a, b]), [a, ab]);
});
