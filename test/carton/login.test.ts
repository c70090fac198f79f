import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startRegistry, TestRegistry } from '../registry/harness';
import { OciLayout, buildTestImage, skopeoPush } from '../registry/image-builder';
import { CartonEnv, cartonEnv } from './helpers';

let registry: TestRegistry;
let env: CartonEnv;
let work: string;
let IMAGE: string;
const saved = process.env.REGISTRY_AUTH_FILE;

before(async () => {
  registry = await startRegistry({ kind: 'basic', users: { tester: 's3cret' } });
  env = cartonEnv();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-login-'));
  // The carton processes inherit this: credentials go to a private file, not ~/.docker.
  process.env.REGISTRY_AUTH_FILE = path.join(work, 'auth.json');
  const layout = new OciLayout(path.join(work, 'layout'));
  buildTestImage(layout, 'img');
  IMAGE = `${registry.host}/carton-test/private:v1`;
  await skopeoPush(layout.dir, 'img', IMAGE, 'tester:s3cret');
});

after(async () => {
  if (saved === undefined) delete process.env.REGISTRY_AUTH_FILE;
  else process.env.REGISTRY_AUTH_FILE = saved;
  await env?.cleanup();
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('login (wrong password, -p, --password-stdin), pull with the saved credentials, logout', () => {
  const anonymous = env.run(['pull', '-q', IMAGE]);
  assert.notEqual(anonymous.status, 0);
  const wrong = env.run(['login', '-u', 'tester', '-p', 'nope', registry.host]);
  assert.notEqual(wrong.status, 0);
  assert.equal(fs.existsSync(process.env.REGISTRY_AUTH_FILE!), false);
  const ok = env.run(['login', '-u', 'tester', '--password-stdin', registry.host], 's3cret\n');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Login Succeeded\n$/);
  const auth = JSON.parse(fs.readFileSync(process.env.REGISTRY_AUTH_FILE!, 'utf8'));
  assert.equal(Buffer.from(auth.auths[registry.host].auth, 'base64').toString(), 'tester:s3cret');
  const pulled = env.run(['pull', '-q', IMAGE]);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.equal(pulled.stdout, `${IMAGE}\n`);
  const out = env.run(['logout', registry.host]);
  assert.equal(out.stdout, `Removing login credentials for ${registry.host}\n`);
  assert.equal(env.run(['logout', registry.host]).stdout, `Not logged in to ${registry.host}\n`);
  assert.equal(env.run(['rmi', IMAGE]).status, 0);
  assert.notEqual(env.run(['pull', '-q', IMAGE]).status, 0);
});
