import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { CartonEnv, cartonEnv } from './helpers';

let a: CartonEnv;
let b: CartonEnv;
let work: string;

before(() => {
  a = cartonEnv();
  b = cartonEnv();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-archives-'));
  const rootfs = makeBusyboxRootfs(path.join(work, 'rootfs'));
  execFileSync('tar', ['-C', rootfs, '-cf', path.join(work, 'rootfs.tar'), '.']);
});

after(async () => {
  await a.cleanup();
  await b.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

test('import a rootfs tarball with --change, run it, save it and load it elsewhere', () => {
  const imp = a.run(['import', '-c', 'CMD ["/bin/sh", "-c", "echo imported $X"]', '-c', 'ENV X=yes', path.join(work, 'rootfs.tar'), 'carton-test/imported:v1']);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const run = a.run(['run', '--rm', 'carton-test/imported:v1']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'imported yes\n');

  const tar = path.join(work, 'saved.tar');
  const save = a.run(['save', '-o', tar, 'carton-test/imported:v1']);
  assert.equal(save.status, 0, save.stderr);
  const listing = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' });
  assert.match(listing, /^manifest\.json$/m);
  const load = b.run(['load', '-i', tar]);
  assert.equal(load.status, 0, load.stderr);
  assert.equal(load.stdout, 'Loaded image: carton-test/imported:v1\n');
  assert.equal(b.run(['images', '-q']).stdout, a.run(['images', '-q']).stdout);
  assert.equal(b.run(['run', '--rm', 'carton-test/imported:v1']).stdout, 'imported yes\n');

  const notImage = b.run(['load', '-i', path.join(work, 'rootfs.tar')]);
  assert.notEqual(notImage.status, 0);
  assert.equal(b.run(['images', '-q']).stdout.trim().split('\n').length, 1);
});
