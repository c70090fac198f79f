/**
 * The registry client against a real docker-registry: anonymous, Basic (htpasswd) and
 * token auth, manifests and indexes, blobs, errors. Images are pushed by skopeo.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RegistryClient } from '../../src/image/registry/client';
import { OciLayout, buildMultiArchImage, buildTestImage, skopeoPush, BuiltImage } from '../registry/image-builder';
import { TestRegistry, startRegistry } from '../registry/harness';

const USERS = { alice: 'wonderland' };
const CREDS = 'alice:wonderland';

let layoutDir: string;
let image: BuiltImage;
let multi: ReturnType<typeof buildMultiArchImage>;
const registries: TestRegistry[] = [];

before(() => {
  layoutDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-layout-'));
  const layout = new OciLayout(layoutDir);
  image = buildTestImage(layout, 'v1');
  multi = buildMultiArchImage(layout, 'multi');
});

after(async () => {
  for (const r of registries) await r.stop();
  fs.rmSync(layoutDir, { recursive: true, force: true });
});

async function registry(kind: 'none' | 'basic' | 'token'): Promise<TestRegistry> {
  const r = await startRegistry(kind === 'none' ? { kind } : { kind, users: USERS });
  registries.push(r);
  return r;
}

async function download(client: RegistryClient, repo: string, digest: string, size: number): Promise<string> {
  const { stream } = await client.openBlob(repo, digest, size);
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return 'sha256:' + h.digest('hex');
}

describe('anonymous registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry('none');
    await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`);
    await skopeoPush(layoutDir, 'multi', `${reg.host}/test/multi:latest`);
  });

  test('manifest by tag and by digest, blobs verified', async () => {
    const c = new RegistryClient(reg.host);
    const m = await c.getManifest('test/busybox', 'v1');
    assert.equal(m.digest, image.manifestDigest);
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const again = await c.getManifest('test/busybox', image.manifestDigest);
    assert.equal(again.digest, image.manifestDigest);
    for (const l of image.layers) assert.equal(await download(c, 'test/busybox', l.digest, l.size), l.digest);
    const cfg = await c.getBlobBytes('test/busybox', image.configDigest, -1);
    assert.equal(JSON.parse(cfg.toString()).architecture, 'amd64');
  });

  test('an index comes back as an index', async () => {
    const c = new RegistryClient(reg.host);
    const m = await c.getManifest('test/multi', 'latest');
    assert.equal(m.digest, multi.indexDigest);
    assert.equal(m.mediaType, 'application/vnd.oci.image.index.v1+json');
  });

  test('unknown image and unknown tag', async () => {
    const c = new RegistryClient(reg.host);
    await assert.rejects(c.getManifest('nope', 'latest'), {
      code: 'ENOTFOUND',
      message: `manifest unknown: image "${reg.host}/nope:latest" not found`,
    });
    await assert.rejects(c.getManifest('test/busybox', 'v9'), {
      code: 'ENOTFOUND',
      message: `manifest unknown: image "${reg.host}/test/busybox:v9" not found`,
    });
  });

  test('a wrong size in the descriptor is refused before streaming', async () => {
    const c = new RegistryClient(reg.host);
    const l = image.layers[0];
    await assert.rejects(c.openBlob('test/busybox', l.digest, l.size + 1), { code: 'EDIGEST', message: /size mismatch/ });
  });
});

describe('TLS registry', () => {
  let reg: TestRegistry;
  let certDir: string;
  before(async () => {
    reg = await startRegistry({ kind: 'none' }, { tls: true });
    registries.push(reg);
    certDir = path.join(layoutDir, 'certs.d');
    fs.mkdirSync(path.join(certDir, reg.host), { recursive: true });
    fs.copyFileSync(reg.caCertPath!, path.join(certDir, reg.host, 'ca.crt'));
  });

  test('a loopback registry is reached over HTTPS without verification by default', async () => {
    const c = new RegistryClient(reg.host);
    await c.ping();
    await assert.rejects(c.getManifest('nope', 'latest'), { code: 'ENOTFOUND' });
  });

  test('--tls-verify=true refuses an untrusted certificate, with a hint', async () => {
    const c = new RegistryClient(reg.host, { tlsVerify: true, certDirs: [] });
    await assert.rejects(c.ping(), (err: Error & { hint?: string }) => {
      assert.match(err.message, new RegExp(`pinging registry ${reg.host}: .*(certificate|self.signed)`, 'i'));
      assert.match(err.hint ?? '', /certs\.d/);
      return true;
    });
  });

  test('a CA in certs.d/<host>/ca.crt is trusted', async () => {
    const c = new RegistryClient(reg.host, { tlsVerify: true, certDirs: [certDir] });
    await c.ping();
    await assert.rejects(c.getManifest('nope', 'latest'), { code: 'ENOTFOUND' });
  });
});

describe('Basic auth registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry('basic');
    await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`, CREDS);
  });

  test('pull with credentials', async () => {
    const c = new RegistryClient(reg.host, { credentials: { username: 'alice', password: 'wonderland' } });
    assert.equal((await c.getManifest('test/busybox', 'v1')).digest, image.manifestDigest);
    await c.checkLogin();
  });

  test('anonymous is refused', async () => {
    const c = new RegistryClient(reg.host);
    await assert.rejects(c.getManifest('test/busybox', 'v1'), { code: 'EREGISTRY', message: /^unauthorized: authentication required/ });
  });

  test('a wrong password is refused', async () => {
    const c = new RegistryClient(reg.host, { credentials: { username: 'alice', password: 'nope' } });
    await assert.rejects(c.checkLogin(), { code: 'EREGISTRY', message: /^unauthorized: incorrect username or password/ });
  });
});

describe('token auth registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await registry('token');
    await skopeoPush(layoutDir, 'v1', `${reg.host}/test/busybox:v1`, CREDS);
  });

  test('pull with a token, fetched once per scope', async () => {
    const c = new RegistryClient(reg.host, { credentials: { username: 'alice', password: 'wonderland' } });
    const before = reg.tokenServer!.requests.length;
    const m = await c.getManifest('test/busybox', 'v1');
    assert.equal(m.digest, image.manifestDigest);
    for (const l of image.layers) assert.equal(await download(c, 'test/busybox', l.digest, l.size), l.digest);
    const asked = reg.tokenServer!.requests.slice(before);
    assert.equal(asked.length, 1, JSON.stringify(asked));
    assert.deepEqual(asked[0].scopes, ['repository:test/busybox:pull']);
    assert.equal(asked[0].user, 'alice');
  });

  test('anonymous gets a token without access: unauthorized', async () => {
    const c = new RegistryClient(reg.host);
    await assert.rejects(c.getManifest('test/busybox', 'v1'), { code: 'EREGISTRY', message: /^unauthorized: / });
  });

  test('a wrong password is refused by the token server', async () => {
    const c = new RegistryClient(reg.host, { credentials: { username: 'alice', password: 'bad' } });
    await assert.rejects(c.getManifest('test/busybox', 'v1'), {
      code: 'EREGISTRY',
      message: 'unauthorized: incorrect username or password',
    });
  });
});
