/**
 * login/logout against real registries: credentials are verified before they are saved,
 * saved in Docker's format, used by pull, and removed by logout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { login, logout, lookupCredentials } from '../../src/image/auth';
import { pull } from '../../src/image/pull';
import { openStore } from '../../src/storage/store';
import { OciLayout, buildTestImage, skopeoPush } from '../registry/image-builder';
import { TestRegistry, startRegistry } from '../registry/harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-login-'));
const regs: TestRegistry[] = [];

before(async () => {
  buildTestImage(new OciLayout(path.join(dir, 'layout')), 'v1');
  for (const kind of ['basic', 'token'] as const) regs.push(await startRegistry({ kind, users: { alice: 'wonderland' } }));
  for (const r of regs) await skopeoPush(path.join(dir, 'layout'), 'v1', `${r.host}/test/busybox:v1`, 'alice:wonderland');
});

after(async () => {
  for (const r of regs) await r.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a wrong password is refused and nothing is saved', async () => {
  for (const reg of regs) {
    const authFile = path.join(dir, 'wrong.json');
    await assert.rejects(login(reg.host, 'alice', 'nope', { authFile }), { code: 'EREGISTRY', message: /^unauthorized: / });
    assert.equal(fs.existsSync(authFile), false);
  }
});

test('login saves Docker-format credentials that pull uses; logout removes them', async () => {
  for (const reg of regs) {
    const authFile = path.join(dir, `auth-${reg.port}.json`);
    const written = await login(`http://${reg.host}`, 'alice', 'wonderland', { authFile });
    assert.equal(written, authFile);
    const saved = JSON.parse(fs.readFileSync(authFile, 'utf8'));
    assert.equal(saved.auths[reg.host].auth, Buffer.from('alice:wonderland').toString('base64'));
    assert.equal(fs.statSync(authFile).mode & 0o777, 0o600);
    const store = openStore(path.join(dir, `store-${reg.port}`));
    const res = await pull(`${reg.host}/test/busybox:v1`, { store, authFile });
    assert.ok(res.record.id.startsWith('sha256:'));
    assert.equal(logout(reg.host, { authFile }), true);
    assert.equal(lookupCredentials(reg.host, { authFile }), undefined);
    await assert.rejects(pull(`${reg.host}/test/busybox:v1`, { store: openStore(path.join(dir, `store2-${reg.port}`)), authFile }), {
      message: /^unauthorized: /,
    });
  }
});
