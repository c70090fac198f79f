/**
 * User namespaces as root: linux.uidMappings/gidMappings written at the init's
 * SYNC, what the container sees (id, /proc/self/{uid_map,gid_map,setgroups}), who
 * owns what it creates on the host, exec into it, the rootfs reachability check,
 * and bad mappings refused with the field named and nothing left behind.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, makeBusyboxRootfs, minimalSpec } from '../helpers/busybox';
import { leftovers, runtimeDetached, runtimeSync, runtimeFixture } from '../runtime/helpers';
import type { LinuxIDMapping, Spec } from '../../src/oci/spec';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());

const map = (containerID: number, hostID: number, size: number): LinuxIDMapping => ({ containerID, hostID, size });

function usernsSpec(args: string[], uid: LinuxIDMapping[] = [map(0, 100000, 65536)], gid: LinuxIDMapping[] = uid): Spec {
  const spec = minimalSpec(args);
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = uid;
  spec.linux!.gidMappings = gid;
  return spec;
}

function bundleOf(spec: Spec, parent?: string): string {
  if (!parent) {
    const b = makeBundle(spec, 'carton-test-userns-');
    fx.keep(b);
    // mkdtemp makes it 0700: the container's root (host uid 100000) must be able to pass.
    fs.chmodSync(b, 0o711);
    return b;
  }
  const b = path.join(parent, 'bundle');
  makeBusyboxRootfs(path.join(b, 'rootfs'));
  fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
  return b;
}

function run(spec: Spec, label: string, parent?: string) {
  const bundle = bundleOf(spec, parent);
  const id = fx.id(label);
  const r = runtimeSync(root, ['run', '--bundle', bundle, id]);
  return { ...r, id, bundle };
}

test('maps written at the SYNC: root inside, the maps as configured, files owned by the mapped host ids', () => {
  const spec = usernsSpec(['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /tmp/made-inside; mkdir /tmp/d; chown 1000:1000 /tmp/d; exit 7']);
  const caps = spec.process!.capabilities!;
  for (const set of [caps.bounding!, caps.effective!, caps.permitted!]) set.push('CAP_CHOWN');
  const r = run(spec, 'maps');
  assert.equal(r.status, 7, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  assert.deepEqual(lines, ['0', '0', '0 100000 65536', '0 100000 65536', 'allow']);
  const made = fs.statSync(path.join(r.bundle, 'rootfs', 'tmp', 'made-inside'));
  assert.deepEqual([made.uid, made.gid], [100000, 100000]);
  const d = fs.statSync(path.join(r.bundle, 'rootfs', 'tmp', 'd'));
  assert.deepEqual([d.uid, d.gid], [101000, 101000]);
  // The rootfs belongs to the host's root, which this namespace does not map: say so.
  assert.match(r.stderr, /warning: root\.path \(.*\): owned by host 0:0, which the user namespace does not map/);
  assert.deepEqual(leftovers(root, r.id, r.bundle), []);
});

test('a non-root process user with additional groups (setgroups allowed as root)', () => {
  const spec = usernsSpec(['sh', '-c', 'id; touch /tmp/mine']);
  spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [5] };
  const r = run(spec, 'user');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^uid=1000\(user\) gid=1000\(user\) groups=5\(tty\)/);
  const st = fs.statSync(path.join(r.bundle, 'rootfs', 'tmp', 'mine'));
  assert.deepEqual([st.uid, st.gid], [101000, 101000]);
});

test('non-contiguous mappings: several extents, each to its own host range', () => {
  const uid = [map(0, 100000, 1000), map(1000, 300000, 10)];
  const gid = [map(0, 100000, 1000), map(1005, 400005, 1)];
  const spec = usernsSpec(['sh', '-c', 'cat /proc/self/uid_map; touch /tmp/f'], uid, gid);
  spec.process!.user = { uid: 1005, gid: 1005 };
  const r = run(spec, 'extents');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 100000 1000', '1000 300000 10']);
  const st = fs.statSync(path.join(r.bundle, 'rootfs', 'tmp', 'f'));
  assert.deepEqual([st.uid, st.gid], [300005, 400005]);
});

test('exec joins the container user namespace', () => {
  const spec = usernsSpec(['sleep', '30']);
  const bundle = bundleOf(spec);
  const id = fx.id('exec');
  const c = runtimeDetached(root, ['run', '--detach', '--bundle', bundle, id]);
  assert.equal(c.status, 0, c.stderr);
  const e = runtimeSync(root, ['exec', id, 'sh', '-c', 'cat /proc/self/uid_map; id -u; touch /tmp/by-exec']);
  assert.equal(e.status, 0, e.stderr);
  assert.deepEqual(e.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 100000 65536', '0']);
  assert.equal(fs.statSync(path.join(bundle, 'rootfs', 'tmp', 'by-exec')).uid, 100000);
  assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
  assert.deepEqual(leftovers(root, id, bundle), []);
});

test('a rootfs the mapped root cannot reach: refused up front with the reason, nothing left', () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-private-'));
  fx.keep(parent);
  fs.chmodSync(parent, 0o700);
  const r = run(usernsSpec(['true']), 'unreachable', parent);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`root\\.path \\(${r.bundle}/rootfs\\): the container's root \\(host uid 100000, gid 100000 .*\\) cannot reach it: ${parent} is mode 0700 owned by 0:0`),
  );
  assert.deepEqual(leftovers(root, r.id, r.bundle), []);
  // The same bundle runs once others may search the directory: the check is the cause.
  fs.chmodSync(parent, 0o711);
  const ok = runtimeSync(root, ['run', '--bundle', r.bundle, r.id]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('bad mappings: a clear EINVAL_CONFIG naming the field, nothing left behind', () => {
  const many = Array.from({ length: 341 }, (_, i) => map(i, 100000 + i, 1));
  const cases: { label: string; edit: (s: Spec) => void; want: RegExp }[] = [
    {
      label: 'overlap-container',
      edit: (s) => { s.linux!.uidMappings = [map(0, 100000, 65536), map(100, 500000, 10)]; },
      want: /linux\.uidMappings\[1\]: container ids overlap with linux\.uidMappings\[0\]/,
    },
    {
      label: 'overlap-host',
      edit: (s) => { s.linux!.gidMappings = [map(0, 100000, 65536), map(70000, 100010, 10)]; },
      want: /linux\.gidMappings\[1\]: host ids overlap with linux\.gidMappings\[0\]/,
    },
    { label: 'too-many', edit: (s) => { s.linux!.uidMappings = many; }, want: /linux\.uidMappings: at most 340 mappings are allowed, got 341/ },
    { label: 'size0', edit: (s) => { s.linux!.uidMappings = [map(0, 100000, 0)]; }, want: /linux\.uidMappings\[0\]\.size: must be greater than zero/ },
    { label: 'wrap', edit: (s) => { s.linux!.uidMappings = [map(0, 4294967000, 65536)]; }, want: /linux\.uidMappings\[0\]: host ids .* do not fit in 32 bits/ },
    { label: 'no-root', edit: (s) => { s.linux!.uidMappings = [map(1, 100000, 65536)]; }, want: /linux\.uidMappings: container uid 0 must be mapped/ },
    { label: 'unmapped-user', edit: (s) => { s.process!.user.uid = 70000; }, want: /process\.user\.uid: 70000 is not mapped by linux\.uidMappings/ },
    {
      label: 'gid-option',
      edit: (s) => { s.linux!.gidMappings = [map(0, 100000, 1)]; },
      want: /mounts\[2\] \(\/dev\/pts\): option gid=5: gid 5 is not mapped by linux\.gidMappings/,
    },
    {
      label: 'no-userns',
      edit: (s) => { s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'user'); },
      want: /linux\.uidMappings: set, but there is no user namespace/,
    },
  ];
  for (const c of cases) {
    const spec = usernsSpec(['true']);
    c.edit(spec);
    const r = run(spec, c.label);
    assert.equal(r.status, 1, `${c.label}: ${r.stderr}`);
    assert.match(r.stderr, c.want, c.label);
    assert.deepEqual(leftovers(root, r.id, r.bundle), [], c.label);
  }
});

test('a failure after the container is ready (execve refuses the binary) leaves nothing either', () => {
  const spec = usernsSpec(['/bin/not-a-program']);
  const bundle = bundleOf(spec);
  // Executable but no ELF and no #!: LOOKUP accepts it, execve says ENOEXEC, after READY.
  fs.writeFileSync(path.join(bundle, 'rootfs', 'bin', 'not-a-program'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]), { mode: 0o755 });
  const id = fx.id('late-fail');
  const r = runtimeSync(root, ['run', '--bundle', bundle, id]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not-a-program/);
  assert.deepEqual(leftovers(root, id, bundle), []);
});
