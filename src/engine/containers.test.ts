import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { removeFlatDir } from './containers';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-containers-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('removeFlatDir: a directory of files, one with a subdirectory (fallback), and a missing one', (t) => {
  const base = tempDir(t);
  const flat = path.join(base, 'flat');
  fs.mkdirSync(flat);
  for (const f of ['container.json', 'config.json', 'hosts']) fs.writeFileSync(path.join(flat, f), 'x');
  fs.symlinkSync('/etc/passwd', path.join(flat, 'link'));
  removeFlatDir(flat);
  assert.equal(fs.existsSync(flat), false);
  assert.equal(fs.existsSync('/etc/passwd'), true, 'a symlink is removed, not followed');

  const deep = path.join(base, 'deep');
  fs.mkdirSync(path.join(deep, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(deep, 'a', 'b', 'f'), 'x');
  fs.writeFileSync(path.join(deep, 'z'), 'x');
  removeFlatDir(deep);
  assert.equal(fs.existsSync(deep), false);

  removeFlatDir(path.join(base, 'missing'));
});
