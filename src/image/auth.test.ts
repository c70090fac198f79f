import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lookupCredentials, logout, normalizeRegistry } from './auth';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-auth-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('registry names as typed for login', () => {
  assert.equal(normalizeRegistry(undefined), 'docker.io');
  assert.equal(normalizeRegistry('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeRegistry('registry-1.docker.io'), 'docker.io');
  assert.equal(normalizeRegistry('http://localhost:5000'), 'localhost:5000');
  assert.equal(normalizeRegistry('Quay.io'), 'quay.io');
});

test('Docker config.json and Podman auth.json entries are found', () => {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
        'localhost:5000': { auth: b64('alice:wonderland') },
        'quay.io/team': { auth: b64('team:t') },
        'quay.io': { auth: b64('generic:g') },
      },
      credsStore: 'kept',
    }),
  );
  assert.deepEqual(lookupCredentials('docker.io', { authFile: file }), { username: 'hub', password: 'pw:with:colons' });
  assert.deepEqual(lookupCredentials('localhost:5000', { authFile: file }), { username: 'alice', password: 'wonderland' });
  assert.deepEqual(lookupCredentials('quay.io', { authFile: file, repository: 'team/app' }), { username: 'team', password: 't' });
  assert.deepEqual(lookupCredentials('quay.io', { authFile: file, repository: 'other/app' }), { username: 'generic', password: 'g' });
  assert.equal(lookupCredentials('ghcr.io', { authFile: file }), undefined);
  assert.equal(logout('docker.io', { authFile: file }), true);
  assert.equal(logout('docker.io', { authFile: file }), false);
  const left = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(left.credsStore, 'kept');
  assert.deepEqual(Object.keys(left.auths).sort(), ['localhost:5000', 'quay.io', 'quay.io/team']);
});

test('REGISTRY_AUTH_FILE is honoured; a broken file is a clear error', () => {
  const file = path.join(dir, 'auth.json');
  fs.writeFileSync(file, JSON.stringify({ auths: { 'example.com': { auth: b64('e:x') } } }));
  const old = process.env.REGISTRY_AUTH_FILE;
  process.env.REGISTRY_AUTH_FILE = file;
  try {
    assert.deepEqual(lookupCredentials('example.com'), { username: 'e', password: 'x' });
  } finally {
    if (old === undefined) delete process.env.REGISTRY_AUTH_FILE;
    else process.env.REGISTRY_AUTH_FILE = old;
  }
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{not json');
  assert.throws(() => lookupCredentials('example.com', { authFile: bad }), /auth file .*bad\.json is not valid JSON/);
});
