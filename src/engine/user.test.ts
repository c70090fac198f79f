import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readInRootfs, resolveUser } from './user';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nsvc:x:999:999::/srv:/bin/false\n';
const GROUP = 'root:x:0:\nwheel:x:10:user,svc\naudio:x:29:user\nuser:x:1000:\nsvc:x:999:\n';

test('names and ids resolve through passwd and group as Docker does', () => {
  assert.deepEqual(resolveUser('', PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
  assert.deepEqual(resolveUser('user', PASSWD, GROUP), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: '/home/user' });
  assert.deepEqual(resolveUser('1000', PASSWD, GROUP), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: '/home/user' });
  // An explicit group replaces the primary group and skips membership lookup.
  assert.deepEqual(resolveUser('user:audio', PASSWD, GROUP), { uid: 1000, gid: 29, additionalGids: [29], home: '/home/user' });
  assert.deepEqual(resolveUser('svc:5', PASSWD, GROUP), { uid: 999, gid: 5, additionalGids: [5], home: '/srv' });
});

test('numeric ids need no passwd entry; unknown names are refused with Docker\'s words', () => {
  assert.deepEqual(resolveUser('4242:4343', PASSWD, GROUP), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
  assert.deepEqual(resolveUser('4242', undefined, undefined), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  assert.throws(() => resolveUser('foo', PASSWD, GROUP), (e: Error & { exitCode?: number }) =>
    e.message === 'unable to find user foo: no matching entries in passwd file' && e.exitCode === 125);
  assert.throws(() => resolveUser('user:nogroup', PASSWD, GROUP), /unable to find group nogroup: no matching entries in group file/);
  assert.throws(() => resolveUser('foo', undefined, undefined), /unable to find user foo/);
});

test('the image\'s /etc/passwd is read through symlinks that stay inside the rootfs', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-user-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'etc'));
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data', 'passwd'), 'inside');
  fs.symlinkSync('/data/passwd', path.join(root, 'etc', 'passwd'));
  assert.equal(readInRootfs(root, '/etc/passwd'), 'inside');
  // An absolute link to the host's file must resolve inside the rootfs (and find nothing).
  fs.symlinkSync('/../../../../etc/hostname', path.join(root, 'etc', 'group'));
  assert.equal(readInRootfs(root, '/etc/group'), undefined);
});
