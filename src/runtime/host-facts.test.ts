import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { apparmorEnabled, homeFromPasswd } from './host-facts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function rootfs(passwd: string | null): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hf-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'etc'));
  if (passwd !== null) fs.writeFileSync(path.join(d, 'etc', 'passwd'), passwd);
  return d;
}

test('home of a uid from the rootfs /etc/passwd', () => {
  const r = rootfs('root:x:0:0:root:/root:/bin/sh\n# c\nbad line\nwww:x:33:33::/var/www:/bin/false\nnohome:x:7:7:::/bin/sh\n');
  assert.equal(homeFromPasswd(r, 0), '/root');
  assert.equal(homeFromPasswd(r, 33), '/var/www');
  assert.equal(homeFromPasswd(r, 7), undefined);
  assert.equal(homeFromPasswd(r, 1000), undefined);
  assert.equal(homeFromPasswd(rootfs(null), 0), undefined);
});

test('a symlinked /etc/passwd or /etc is never followed out of the rootfs', () => {
  const outside = rootfs('root:x:0:0:root:/host-secret:/bin/sh\n');
  const a = rootfs(null);
  fs.symlinkSync(path.join(outside, 'etc', 'passwd'), path.join(a, 'etc', 'passwd'));
  assert.equal(homeFromPasswd(a, 0), undefined);
  const b = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hf-'));
  dirs.push(b);
  fs.symlinkSync(path.join(outside, 'etc'), path.join(b, 'etc'));
  assert.equal(homeFromPasswd(b, 0), undefined);
});

test('apparmorEnabled reads Y/N', () => {
  const d = rootfs(null);
  fs.writeFileSync(path.join(d, 'y'), 'Y\n');
  fs.writeFileSync(path.join(d, 'n'), 'N\n');
  assert.equal(apparmorEnabled(path.join(d, 'y')), true);
  assert.equal(apparmorEnabled(path.join(d, 'n')), false);
  assert.equal(apparmorEnabled(path.join(d, 'missing')), false);
});
