/**
 * carton-runtime run by the root of a user namespace (`unshare --user --map-root-user`),
 * as under rootlesskit or rootless Podman: rootless mode without being a user. mknod is
 * refused there, so devices are bound from the host; setgroups is denied by unshare,
 * so it is not called; the cgroups it may write are used.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { BIN, leftovers, makeRoot, newId } from '../runtime/helpers';

const root = makeRoot();
const bundles: string[] = [];
const ids: string[] = [];

function nested(args: string[]) {
  const r = spawnSync('unshare', ['--user', '--map-root-user', process.execPath, BIN, '--root', root, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

after(() => {
  for (const id of ids) nested(['delete', '--force', id]);
  for (const b of bundles) removeBundle(b);
  fs.rmSync(root, { recursive: true, force: true });
});

test('root of a user namespace runs a container: devices bound, no setgroups, limits where it may write', () => {
  const spec = minimalSpec(['sh', '-c', 'id; echo x > /dev/null && echo null-ok; cat /proc/self/setgroups; cat /sys/fs/cgroup/pids/pids.max']);
  // The namespace maps only id 0: no gid=5 on devpts.
  spec.mounts = spec.mounts!.map((m) => (m.options ? { ...m, options: m.options.filter((o) => !/^(uid|gid)=/.test(o)) } : m));
  spec.process!.user.additionalGids = undefined;
  spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 42 } };
  const bundle = makeBundle(spec, 'carton-test-nested-');
  bundles.push(bundle);
  const id = newId('nested');
  ids.push(id);
  const r = nested(['run', '--bundle', bundle, id]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['uid=0(root) gid=0(root)', 'null-ok', 'deny', '42']);
  assert.deepEqual(leftovers(root, id, bundle), []);
  assert.ok(!fs.existsSync(path.join(root, id)));
});
