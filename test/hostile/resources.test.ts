/**
 * Hostile suite: resource abuse and cgroup escape. A fork bomb under
 * linux.resources.pids.limit and a memory hog under a memory limit stay
 * contained (pids.current at the limit, EAGAIN inside; exit 137 and oom_kill
 * counted) while a host-side probe keeps answering; a process that writes its
 * pid to the root cgroup's cgroup.procs is refused and stays where it was put.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BIN, Lab, hostProbe, parseProbe } from './lab';

let lab: Lab;
before(() => {
  lab = new Lab('res');
});
after(() => lab.cleanup());

/** How slow the host may get while a container misbehaves before we call it unresponsive. */
const HOST_WORST_MS = 2000;

describe('fork bomb under pids.limit', () => {
  test('forks stop at the limit with EAGAIN; the host keeps answering', async (t) => {
    const b = lab.bundle('docker', 'bomb', ['/bin/carton-probe', 'fork-bomb'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 64 } };
    });
    t.after(() => lab.destroy(b));
    const probe = hostProbe();
    lab.up(b);
    const out = await lab.waitOutput(b, /^fork errno=/m, 15_000);
    await new Promise((r) => setTimeout(r, 2000)); // the bomb sits at its limit while the host probe runs
    const host = await probe.stop();
    assert.match(out, /^fork errno=EAGAIN after=\d+$/m, out);
    const cg = path.join('/sys/fs/cgroup/pids', b.id);
    assert.equal(fs.readFileSync(path.join(cg, 'pids.max'), 'utf8').trim(), '64');
    // At the limit, never past it: a bomb child that just failed to fork may be exiting.
    const current = Number(fs.readFileSync(path.join(cg, 'pids.current'), 'utf8'));
    assert.ok(current <= 64 && current >= 56, `pids.current ${current}`);
    assert.match(fs.readFileSync(path.join(cg, 'pids.events'), 'utf8'), /^max [1-9]\d*$/m);
    assert.ok(host.runs >= 3 && host.worstMs < HOST_WORST_MS, `host probe: ${JSON.stringify(host)}`);
  });
});

describe('memory hog under a memory limit', () => {
  test('the hog is OOM-killed: run exits 137, oom_kill counted, usage never above the limit', async (t) => {
    const limit = 32 * 1024 * 1024;
    const b = lab.bundle('docker', 'hog', ['/bin/carton-probe', 'mem-hog'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { limit, swap: limit } };
    });
    t.after(() => lab.destroy(b));
    const probe = hostProbe();
    // asynchronous so the host probe runs alongside; --keep leaves the cgroup to inspect
    const child = spawn(process.execPath, [BIN, '--root', lab.root, 'run', '--keep', '--bundle', b.dir, b.id], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    const host = await probe.stop();
    assert.equal(code, 137, out);
    assert.match(out, /^hog 16 MiB$/m, 'the hog did allocate');
    const cg = path.join('/sys/fs/cgroup/memory', b.id);
    assert.match(fs.readFileSync(path.join(cg, 'memory.oom_control'), 'utf8'), /^oom_kill [1-9]\d*$/m);
    assert.ok(Number(fs.readFileSync(path.join(cg, 'memory.max_usage_in_bytes'), 'utf8')) <= limit);
    assert.ok(host.runs >= 1 && host.worstMs < HOST_WORST_MS, `host probe: ${JSON.stringify(host)}`);
  });
});

for (const engine of ['docker', 'podman'] as const) {
  describe(`leaving the cgroup under ${engine} defaults`, () => {
    test('writes to any cgroup.procs fail with EROFS, mounting a cgroup fs with EPERM; the process stays put', () => {
      const b = lab.bundle(engine, 'cgesc', ['sh', '-c', '/bin/carton-probe cgroup-escape; /bin/carton-probe write /proc/self/cgroup /; cat /proc/self/cgroup']);
      const r = lab.runtime(['run', '--bundle', b.dir, b.id]);
      assert.equal(r.status, 0, r.stderr);
      const got = parseProbe(r.stdout);
      const procsWrites = [...got].filter(([what]) => what.startsWith('open-w /sys/fs/cgroup'));
      assert.ok(procsWrites.length >= 8, `tried every hierarchy: ${r.stdout}`);
      for (const [what, res] of procsWrites) {
        // the root's cgroup.procs (a tmpfs, no such file) is ENOENT; every real one is read-only
        const want = what === 'open-w /sys/fs/cgroup/cgroup.procs' ? 'errno=ENOENT' : 'errno=EROFS';
        assert.equal(res, want, what);
      }
      assert.equal(got.get('mount-cgroup'), 'errno=EPERM');
      assert.equal(got.get('mount-cgroup2'), 'errno=EPERM');
      // /proc/self/cgroup is a report, not a control file: root may open it, the write is rejected
      assert.equal(got.get('write /proc/self/cgroup'), 'errno=EINVAL');
      const cgLines = r.stdout.split('\n').filter((l) => /^\d+:[^:]*:\//.test(l));
      assert.ok(cgLines.length >= 8, r.stdout);
      for (const l of cgLines) assert.ok(l.endsWith(`/${b.id}`), `still in its own cgroup: ${l}`);
    });
  });
}
