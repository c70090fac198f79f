import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges } from './challenge';

test('bearer challenge with quoted params', () => {
  const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
  assert.equal(c.scheme, 'bearer');
  assert.deepEqual(c.params, {
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scope: 'repository:library/busybox:pull',
  });
});

test('basic challenge and several challenges in one header', () => {
  const cs = parseChallenges('Basic realm="Registry Realm", Bearer realm="http://h/t", service=svc');
  assert.equal(cs.length, 2);
  assert.equal(cs[0].scheme, 'basic');
  assert.equal(cs[0].params.realm, 'Registry Realm');
  assert.deepEqual(cs[1].params, { realm: 'http://h/t', service: 'svc' });
});

test('escaped quotes and missing header', () => {
  assert.equal(parseChallenges('Bearer realm="a\\"b"')[0].params.realm, 'a"b');
  assert.deepEqual(parseChallenges(undefined), []);
});
