/**
 * tarDirectory on the real filesystem: an unpacked layer written back out as a tar gives the
 * same tree when applied again (devices, hardlinks, setuid, xattrs, overlay whiteouts and
 * opaque dirs turned back into .wh. entries), and GNU tar reads what we write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { after, before, test } from 'node:test';
import { tarDirectory } from '../../src/layer/tar-dir';
import { openStore, Store } from '../../src/storage/store';
import { getXattrs } from '../../src/storage/sys';
import { busyboxEntries, sha256, tarOf, tempDir } from '../storage/fixtures';

let tmp: { dir: string; cleanup: () => void };
let store: Store;

before(() => {
  tmp = tempDir('tardir');
  store = openStore(path.join(tmp.dir, 'store'));
});
after(() => tmp.cleanup());

async function collect(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarDirectory(dir, { xattrs: true })) chunks.push(c);
  return Buffer.concat(chunks);
}

/** path → "type mode uid:gid size rdev link xattrs" for every entry below `dir`. */
function describe(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const abs = path.join(dir, r);
      const st = fs.lstatSync(abs);
      const x = [...(getXattrs([abs]).get(abs) ?? new Map<string, Buffer>())].map(([k, v]) => `${k}=${v.toString('hex')}`).join(',');
      const link = st.isSymbolicLink() ? fs.readlinkSync(abs) : '';
      out.set(r, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? 0 : st.size} ${st.rdev} ${st.nlink} ${link} ${x} ${st.isDirectory() ? '' : st.mtimeMs}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

test('an unpacked layer written back with tarDirectory re-applies to the same tree', async () => {
  const layer = tarOf([
    ...busyboxEntries(),
    { name: 'bin/su', type: 'file', mode: 0o4755, data: 'su', mtime: 1234 },
    { name: 'bin/su2', type: 'link', linkname: 'bin/su' },
    { name: 'bin/ping', type: 'file', mode: 0o755, data: 'p', xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } },
    { name: 'dev/null', type: 'chardev', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'run/fifo', type: 'fifo', mode: 0o600, uid: 5, gid: 6 },
    { name: `deep/${'x'.repeat(120)}/${'y'.repeat(120)}`, type: 'file', data: 'long' },
    { name: 'etc/.wh.shadow', type: 'file', data: '' },
    { name: 'var/.wh..wh..opq', type: 'file', data: '' },
  ]);
  const digest = sha256(layer);
  await store.blobs.ingest({ digest, size: layer.length }, Readable.from([layer]));
  const first = await store.layers.ensure({ diffId: digest }, null);

  const again = await collect(first.diffDir);
  const list = spawnSync('tar', ['-tvf', '-'], { input: again, encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /-rwsr-xr-x 0\/0\s+2 .* bin\/su\n/);
  assert.match(list.stdout, /crw-rw-rw- 0\/0\s+1,3 .* dev\/null\n/);
  assert.match(list.stdout, / etc\/\.wh\.shadow\n/);
  assert.match(list.stdout, / var\/\.wh\.\.wh\.\.opq\n/);
  assert.match(list.stdout, / bin\/su2 link to bin\/su\n/);

  const d2 = sha256(again);
  await store.blobs.ingest({ digest: d2, size: again.length }, Readable.from([again]));
  const second = await store.layers.ensure({ diffId: d2 }, null);
  assert.deepEqual(describe(second.diffDir), describe(first.diffDir));
  // deterministic: the same tree gives the same bytes
  assert.equal(sha256(await collect(second.diffDir)), d2);
});
