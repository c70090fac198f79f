import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../oci/spec';
import { checkRootfsAccess, pathChain } from './rootfs-access';

const m = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });

function spec(readonly: boolean, userns = true): Spec {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs', readonly },
    linux: {
      namespaces: userns ? [{ type: 'mount' }, { type: 'user' }] : [{ type: 'mount' }],
      uidMappings: [m(0, 100000, 65536)],
      gidMappings: [m(0, 100000, 65536)],
    },
  };
}

test('checkRootfsAccess on real directories: 0700 parent refused, 0711 passes with an ownership warning', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-access-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs, { mode: 0o755 });
  const owner = fs.statSync(dir);
  fs.chmodSync(dir, 0o700);
  assert.deepEqual(pathChain(rootfs).map((e) => e.path).slice(-2), [dir, rootfs]);
  assert.throws(
    () => checkRootfsAccess(spec(false), rootfs, []),
    (e: Error) => e.message.startsWith(`root.path (${rootfs}): the container's root (host uid 100000, gid 100000`) &&
      e.message.endsWith(`${dir} is mode 0700 owned by ${owner.uid}:${owner.gid}`),
  );
  assert.deepEqual(checkRootfsAccess(spec(false, false), rootfs, []), [], 'no user namespace: nothing to check');
  fs.chmodSync(dir, 0o711);
  const warnings = checkRootfsAccess(spec(false), rootfs, []);
  assert.equal(warnings.length, owner.uid >= 100000 && owner.uid < 165536 ? 0 : 1);
  assert.deepEqual(checkRootfsAccess(spec(true), rootfs, []), [], 'a read-only root needs no ownership');
  if (process.getuid?.() !== 0) return; // chown needs root; the rest runs as anyone
  fs.chownSync(rootfs, 100000, 100000);
  fs.chmodSync(rootfs, 0o700);
  assert.deepEqual(checkRootfsAccess(spec(false), rootfs, []), [], 'owned by the mapped root: reachable, no warning');
});
