/**
 * Start-up cost guard for `carton run IMAGE` (docs/performance-images.md): opening the store
 * and making its temporary names must not load crypto, zlib, child_process (or net, http(s),
 * tls, which come with them): 1.5-3 ms of CPU each per run. Hashing, decompression and the
 * spawn fallbacks load them when they are first used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { uniqueSuffix, writeFileAtomic } from './fsutil';

const HEAVY = ['child_process', 'net', 'zlib', 'http', 'https', 'tls', 'crypto'];

test('opening the store, a temp dir and an atomic write load none of the heavy built-ins', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-store-modules-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'probe.js');
  const store = JSON.stringify(path.join(__dirname, 'store.js'));
  const fsutil = JSON.stringify(path.join(__dirname, 'fsutil.js'));
  const root = JSON.stringify(path.join(dir, 'root'));
  fs.writeFileSync(
    script,
    `const s = require(${store}).openStore(${root});` +
      `const a = s.tempDir('probe'), b = s.tempDir('probe'); if (a === b) throw new Error('same temp dir');` +
      `require(${fsutil}).writeFileAtomic(require('path').join(a, 'f'), 'x');` +
      `require('fs').writeSync(1, JSON.stringify(process.moduleLoadList));`,
  );
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const loaded = (JSON.parse(r.stdout) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  assert.ok(loaded.includes('fs'), 'the check sees built-in modules');
  for (const m of HEAVY) assert.ok(!loaded.includes(m), `${m} is loaded`);
});

test('uniqueSuffix: no repeats within a process, file-name safe', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const s = uniqueSuffix();
    assert.match(s, /^[0-9a-z]+$/);
    assert.ok(!seen.has(s), `repeated ${s}`);
    seen.add(s);
  }
});

test('writeFileAtomic replaces the file and leaves no temp file behind', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-atomic-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'data.json');
  writeFileAtomic(file, 'one', 0o600, false);
  writeFileAtomic(file, 'two');
  assert.equal(fs.readFileSync(file, 'utf8'), 'two');
  assert.deepEqual(fs.readdirSync(dir), ['data.json']);
});
