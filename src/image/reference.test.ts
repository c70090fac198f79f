import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseReference,
  formatReference,
  familiarString,
  isLoopbackRegistry,
  registryApiHost,
  normalizeImageName,
} from './reference';

const D = 'sha256:' + 'a'.repeat(64);

const GOOD: Array<[string, string]> = [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['index.docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['index.docker.io/user/app:v1', 'docker.io/user/app:v1'],
  ['user/app', 'docker.io/user/app:latest'],
  ['user/app/sub', 'docker.io/user/app/sub:latest'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['localhost:5000/a/b:v2', 'localhost:5000/a/b:v2'],
  ['127.0.0.1:5000/app:x', '127.0.0.1:5000/app:x'],
  ['[::1]:5000/app', '[::1]:5000/app:latest'],
  ['quay.io/podman/stable', 'quay.io/podman/stable:latest'],
  ['Example.COM/app', 'Example.COM/app:latest'],
  ['my-registry.local:443/ns/app:1.0.0-rc_1', 'my-registry.local:443/ns/app:1.0.0-rc_1'],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`],
  [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`],
  [`localhost:5000/app@${D}`, `localhost:5000/app@${D}`],
  ['a__b/c.d-e---f', 'docker.io/a__b/c.d-e---f:latest'],
  ['foo:5000', 'docker.io/library/foo:5000'],
];

for (const [input, want] of GOOD) {
  test(`parse ${input}`, () => {
    assert.equal(formatReference(parseReference(input)), want);
  });
}

const BAD: Array<[string, RegExp]> = [
  ['', /invalid reference format: repository name must have at least one component/],
  ['Busybox', /^invalid reference format: repository name must be lowercase$/],
  ['docker.io/User/app', /^invalid reference format: repository name must be lowercase$/],
  ['localhost:5000/App', /^invalid reference format: repository name must be lowercase$/],
  ['busybox:', /^invalid reference format$/],
  ['busybox::tag', /^invalid reference format$/],
  ['-busybox', /^invalid reference format$/],
  ['busybox-', /^invalid reference format$/],
  ['a//b', /^invalid reference format$/],
  ['busybox@sha256:abc', /^invalid reference format$/],
  [`busybox@sha256:${'a'.repeat(40)}`, /invalid checksum digest length/],
  [`busybox@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
  ['a'.repeat(64), /cannot specify 64-byte hexadecimal strings/],
  ['x/' + 'a'.repeat(260), /repository name \(x\/a+\) is too long/],
  ['busybox:' + 't'.repeat(129), /^invalid reference format$/],
  ['has space', /^invalid reference format$/],
  ['http://host/app', /^invalid reference format$/],
];

for (const [input, want] of BAD) {
  test(`reject ${JSON.stringify(input.slice(0, 40))}`, () => {
    assert.throws(() => parseReference(input), (err: Error & { code?: string }) => {
      assert.match(err.message, want);
      assert.equal(err.code, 'EINVAL_CONFIG');
      return true;
    });
  });
}

test('familiar forms drop docker.io and library/', () => {
  assert.equal(familiarString(parseReference('docker.io/library/busybox')), 'busybox:latest');
  assert.equal(familiarString(parseReference('user/app:v1')), 'user/app:v1');
  assert.equal(familiarString(parseReference('localhost:5000/app')), 'localhost:5000/app:latest');
});

test('a digest alone means no default tag', () => {
  const ref = parseReference(`busybox@${D}`);
  assert.equal(ref.tag, undefined);
  assert.equal(ref.digest, D);
});

test('loopback registries', () => {
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'foo.localhost:1']) {
    assert.equal(isLoopbackRegistry(h), true, h);
  }
  for (const h of ['docker.io', 'quay.io:443', '10.0.0.1:5000', '128.0.0.1', 'localhostx:5000', '[::2]:5000']) {
    assert.equal(isLoopbackRegistry(h), false, h);
  }
});

test('Docker Hub API host', () => {
  assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(registryApiHost('localhost:5000'), 'localhost:5000');
});

test('normalizeImageName matches what pull records', () => {
  assert.equal(normalizeImageName('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeImageName(`busybox@${D}`), `docker.io/library/busybox@${D}`);
  assert.throws(() => normalizeImageName('Bad'), /must be lowercase/);
});
