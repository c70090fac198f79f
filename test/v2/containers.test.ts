/**
 * Real containers on a pure cgroup v2 host (the lane of scripts/v2vm/run.sh): limits
 * read back from inside (the container's /sys/fs/cgroup is its own cgroup), freeze
 * through cgroup.freeze, kill --all, the eBPF device rules, and delete removing the
 * cgroup. Skips itself on hosts that still have v1 controllers. Kept to a handful of
 * runtime calls: under emulation each Node start costs seconds.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { forceCleanup, leftovers, makeRoot, newId, runtimeDetached, runtimeSync, stateOf, waitFor } from '../runtime/helpers';

const CGROUP2_SUPER_MAGIC = 0x63677270;

function pureV2(): boolean {
  if (process.env.CARTON_V2VM === '1') return true;
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

const skip = pureV2() ? false : 'needs a cgroup2-only host (bash scripts/v2vm/run.sh)';
const root = skip ? '' : makeRoot();
const bundles: string[] = [];
const ids: string[] = [];

after(() => {
  if (skip) return;
  for (const id of ids) forceCleanup(root, id);
  for (const b of bundles) removeBundle(b);
  fs.rmSync(root, { recursive: true, force: true });
});

/** The container's cgroup directory on the host, from its pid's /proc/<pid>/cgroup ("0::/path"). */
function cgroupDirOf(pid: number): string {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  assert.ok(line, `no cgroup2 entry for ${pid}`);
  return `/sys/fs/cgroup${line.slice(3)}`;
}

test('limits, freeze, device rules, kill --all and delete on cgroup v2', { skip }, () => {
  const spec = minimalSpec(['sleep', '300']);
  spec.linux!.resources = {
    ...spec.linux!.resources,
    memory: { limit: 64 * 1024 * 1024 },
    pids: { limit: 50 },
    cpu: { quota: 50000, period: 100000 },
  };
  // mknod is allowed by the default rules ("m" on every node); using a node is not.
  for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process!.capabilities![set]!.push('CAP_MKNOD');
  const b = makeBundle(spec);
  bundles.push(b);
  const id = newId('v2');
  ids.push(id);

  const r = runtimeDetached(root, ['run', '-d', '-b', b, id]);
  assert.equal(r.status, 0, r.stderr);
  const pid = stateOf(root, id).pid as number;
  const dir = cgroupDirOf(pid);
  assert.ok(fs.existsSync(dir), dir);

  const inside = runtimeSync(root, [
    'exec', id, 'sh', '-c',
    'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max; ' +
      'echo x > /dev/null && echo null-writable; ' +
      'mknod /dev/carton-test-kmsg c 1 11 && (echo carton-test > /dev/carton-test-kmsg && echo kmsg-writable || echo kmsg-denied); ' +
      'sleep 300 </dev/null >/dev/null 2>&1 & echo started-second',
  ]);
  assert.equal(inside.status, 0, inside.stderr);
  assert.equal(
    inside.stdout,
    `${64 * 1024 * 1024}\n50\n50000 100000\nnull-writable\nkmsg-denied\nstarted-second\n`,
    inside.stderr,
  );

  assert.equal(runtimeSync(root, ['pause', id]).status, 0);
  assert.equal(fs.readFileSync(`${dir}/cgroup.freeze`, 'utf8').trim(), '1');
  assert.ok(waitFor(() => /frozen 1/.test(fs.readFileSync(`${dir}/cgroup.events`, 'utf8'))), 'cgroup.events says frozen');
  assert.equal(runtimeSync(root, ['resume', id]).status, 0);
  assert.equal(fs.readFileSync(`${dir}/cgroup.freeze`, 'utf8').trim(), '0');

  // The container's sleep and the exec's background sleep: kill --all reaches both.
  const procs = (): string[] => fs.readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
  assert.ok(procs().length >= 2, `procs: ${procs().join(' ')}`);
  assert.equal(runtimeSync(root, ['kill', '--all', id, 'KILL']).status, 0);
  assert.ok(waitFor(() => procs().length === 0), `left in the cgroup: ${procs().join(' ')}`);

  const del = runtimeSync(root, ['delete', id]);
  assert.equal(del.status, 0, del.stderr);
  assert.equal(fs.existsSync(dir), false, `${dir} still exists`);
  assert.deepEqual(leftovers(root, id, b), []);
});
