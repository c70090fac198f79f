import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LinuxSeccomp } from '../oci/spec';
import { compileSeccompCached, crc32, defaultSeccompCacheDir, Compile } from './cache';
import { compileSeccomp, dockerDefaultProfile } from './index';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-seccomp-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'cache');
}

/** The real compiler, counting its calls. */
function counting(): { compile: Compile; calls: () => number } {
  let n = 0;
  return {
    compile: (s) => {
      n++;
      return compileSeccomp(s);
    },
    calls: () => n,
  };
}

const small: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
};

test('crc32 is the standard CRC-32', () => {
  assert.equal(crc32(''), '00000000');
  assert.equal(crc32('a'), 'e8b7be43');
  assert.equal(crc32('123456789'), 'cbf43926');
});

test("a second compile of Docker's profile comes from the cache, byte for byte", (t) => {
  const dir = tempDir(t);
  const c = counting();
  const first = compileSeccompCached(dockerDefaultProfile(), 'x86_64', { dir, compile: c.compile });
  const second = compileSeccompCached(dockerDefaultProfile(), 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 1);
  assert.deepEqual(Buffer.from(second.program), Buffer.from(first.program));
  assert.deepEqual({ ...second, program: undefined }, { ...first, program: undefined });
  assert.deepEqual(Buffer.from(second.program), Buffer.from(compileSeccomp(dockerDefaultProfile()).program));
  const [entry] = fs.readdirSync(dir);
  assert.match(entry, /^[0-9a-f]{8}-[0-9]+\.json$/);
  assert.equal(fs.statSync(path.join(dir, entry)).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('another profile is another entry, never the first one', (t) => {
  const dir = tempDir(t);
  const c = counting();
  const a = compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  const other: LinuxSeccomp = { ...small, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
  const b = compileSeccompCached(other, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 2);
  assert.notDeepEqual(Buffer.from(a.program), Buffer.from(b.program));
  assert.equal(fs.readdirSync(dir).length, 2);
});

test('an entry whose stored key differs (a hash collision) is recompiled', (t) => {
  const dir = tempDir(t);
  const c = counting();
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  const [name] = fs.readdirSync(dir);
  const file = path.join(dir, name);
  const e = JSON.parse(fs.readFileSync(file, 'utf8')) as { key: string };
  e.key = e.key.replace('mkdir', 'rmdir');
  fs.writeFileSync(file, JSON.stringify(e));
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 2);
});

test('a damaged program, truncated JSON or a wrong format are recompiled', (t) => {
  const dir = tempDir(t);
  const c = counting();
  const good = compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  const [name] = fs.readdirSync(dir);
  const file = path.join(dir, name);
  const original = fs.readFileSync(file, 'utf8');
  const e = JSON.parse(original) as { program: string; format: string };
  const bytes = Buffer.from(e.program, 'base64');
  bytes[bytes.length - 1] ^= 1;
  const damages = [
    JSON.stringify({ ...e, program: bytes.toString('base64') }),
    original.slice(0, original.length / 2),
    JSON.stringify({ ...e, format: 'carton-seccomp-cache-0' }),
    JSON.stringify({ ...e, program: '' }),
  ];
  let expected = 1;
  for (const damaged of damages) {
    fs.writeFileSync(file, damaged);
    const out = compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
    assert.equal(c.calls(), ++expected);
    assert.deepEqual(Buffer.from(out.program), Buffer.from(good.program));
  }
});

test('entries others can write, or a symlink, are not trusted', (t) => {
  const dir = tempDir(t);
  const c = counting();
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  const [name] = fs.readdirSync(dir);
  const file = path.join(dir, name);
  fs.chmodSync(file, 0o666);
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 2, 'a world-writable entry is used');
  // Rewritten by the miss above with safe permissions: trusted again.
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 2);
  fs.chmodSync(dir, 0o777);
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 3, 'an entry in a world-writable directory is used');
  fs.chmodSync(dir, 0o700);
  const real = `${file}.real`;
  fs.renameSync(file, real);
  fs.symlinkSync(real, file);
  compileSeccompCached(small, 'x86_64', { dir, compile: c.compile });
  assert.equal(c.calls(), 4, 'an entry reached through a symlink is used');
});

test('the listener fields follow the profile, not the entry', (t) => {
  const dir = tempDir(t);
  const notify = (p: string): LinuxSeccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: p,
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  const a = compileSeccompCached(notify('/run/a.sock'), 'x86_64', { dir });
  assert.equal(a.listenerPath, '/run/a.sock');
  const again = compileSeccompCached(notify('/run/a.sock'), 'x86_64', { dir });
  assert.equal(again.needsListener, true);
  assert.equal(again.listenerPath, '/run/a.sock');
  assert.equal(again.listenerMetadata, '');
});

test('no directory, an unwritable one or CARTON_SECCOMP_CACHE=0: compiled, same result', (t) => {
  const c = counting();
  const out = compileSeccompCached(small, 'x86_64', { dir: undefined, compile: c.compile });
  assert.equal(c.calls(), 1);
  assert.deepEqual(Buffer.from(out.program), Buffer.from(compileSeccomp(small).program));
  const parent = path.dirname(tempDir(t));
  const file = path.join(parent, 'not-a-dir');
  fs.writeFileSync(file, '');
  compileSeccompCached(small, 'x86_64', { dir: path.join(file, 'cache'), compile: c.compile });
  assert.equal(c.calls(), 2);
  assert.equal(defaultSeccompCacheDir(0, { CARTON_SECCOMP_CACHE: '0' }), undefined);
  assert.equal(defaultSeccompCacheDir(0, {}), '/run/carton-seccomp-cache');
  assert.equal(defaultSeccompCacheDir(1000, {}), undefined);
  assert.equal(defaultSeccompCacheDir(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/carton-seccomp-cache');
});

test('the directory stays bounded', (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 70; i++) {
    compileSeccompCached({ ...small, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: i + 1 }] }, 'x86_64', { dir });
  }
  assert.ok(fs.readdirSync(dir).length <= 64, `${fs.readdirSync(dir).length} entries`);
});
