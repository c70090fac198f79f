import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlatform, selectManifest, formatPlatform } from './platform';
import type { Descriptor } from '../storage/image-types';

test('parse and normalise platforms', () => {
  assert.equal(formatPlatform(parsePlatform('linux/amd64')), 'linux/amd64');
  assert.equal(formatPlatform(parsePlatform('linux/x86_64')), 'linux/amd64');
  assert.equal(formatPlatform(parsePlatform('linux/aarch64')), 'linux/arm64/v8');
  assert.equal(formatPlatform(parsePlatform('linux/arm64/v8')), 'linux/arm64/v8');
  assert.equal(formatPlatform(parsePlatform('linux/arm')), 'linux/arm/v7');
  assert.equal(formatPlatform(parsePlatform('linux/arm/6')), 'linux/arm/v6');
  assert.equal(formatPlatform(parsePlatform('arm64')), 'linux/arm64/v8');
  assert.throws(() => parsePlatform('linux//amd64'), /--platform "linux\/\/amd64": expected os\/arch/);
  assert.throws(() => parsePlatform('a/b/c/d'), /expected os\/arch/);
});

const d = (arch: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${arch}${variant ?? ''}`,
  size: 1,
  platform: { os, architecture: arch, variant },
});

test('select from an index', () => {
  const list = [d('unknown', undefined, 'unknown'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8'), d('amd64')];
  assert.equal(selectManifest(list, parsePlatform('linux/amd64'), 'x').digest, 'sha256:amd64');
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v7'), 'x').digest, 'sha256:armv7');
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v6'), 'x').digest, 'sha256:armv6');
  assert.equal(selectManifest(list, parsePlatform('linux/arm64'), 'x').digest, 'sha256:arm64v8');
  assert.throws(
    () => selectManifest(list, parsePlatform('linux/s390x'), 'image "a"'),
    (e: Error & { hint?: string }) =>
      /no matching manifest for linux\/s390x in the manifest list entries of image "a"/.test(e.message) &&
      e.hint === 'available: linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/amd64',
  );
});
