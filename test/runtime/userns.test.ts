/** create wires the user-namespace preparation (userns.ts) in: maps written at the init's SYNC, files owned by mapped ids, bad maps refused up front. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { leftovers, runtimeFixture, runtimeSync } from './helpers';
import { makeBundle, minimalSpec } from '../helpers/busybox';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());

function usernsBundle(args: string[], mutate: (s: Spec) => void = () => {}): string {
  const spec = minimalSpec(args);
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  mutate(spec);
  const b = makeBundle(spec);
  fs.chmodSync(b, 0o755); // the mapped root must be able to reach its rootfs
  return fx.keep(b);
}

test('a container in a new user namespace is root inside, 100000 outside', () => {
  const b = usernsBundle(['sh', '-c', 'id -u; cat /proc/self/uid_map; touch /tmp/made-inside']);
  const id = fx.id('userns');
  const r = runtimeSync(root, ['run', '-b', b, id]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^0\n\s+0\s+100000\s+65536\n$/);
  assert.equal(fs.statSync(path.join(b, 'rootfs', 'tmp', 'made-inside')).uid, 100000);
  assert.deepEqual(leftovers(root, id, b), []);
});

test('overlapping id mappings are refused before anything is made', () => {
  const b = usernsBundle(['true'], (s) => {
    s.linux!.uidMappings = [
      { containerID: 0, hostID: 100000, size: 1000 },
      { containerID: 500, hostID: 200000, size: 1000 },
    ];
  });
  const id = fx.id('overlap');
  const r = runtimeSync(root, ['run', '-b', b, id]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /linux\.uidMappings/);
  assert.deepEqual(leftovers(root, id, b), []);
});
