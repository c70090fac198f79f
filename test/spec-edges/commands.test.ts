/**
 * The control commands of issue 3 §1, checked where they act: `events --stats` in runc's
 * JSON shape (compared live with runc), `events --interval` streaming until the container
 * exits, `update` flags and `--resources -` reaching the cgroup files, `pause`/`resume`
 * through the v1 freezer, `kill --all` reaching every process of the cgroup.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { BIN } from '../runtime/helpers';
import { Lab, RUNC_AVAILABLE, RuntimeName, waitUntil } from '../badinput/harness';

const lab = new Lab();
after(() => lab.cleanup());

const CG = '/sys/fs/cgroup';
const cg = (controller: string, id: string, file: string): string => fs.readFileSync(path.join(CG, controller, id, file), 'utf8').trim();

function startDetached(label: string, args: string[], runtime: RuntimeName = 'carton', mutate?: (s: Spec) => void) {
  const id = lab.id(label, runtime);
  const b = lab.bundle(id, args, mutate);
  const r = lab.detached(runtime, ['run', '-d', '-b', b, id]);
  assert.equal(r.status, 0, `${runtime} run -d: ${r.stderr}`);
  return { id, b };
}

/** The key structure of a JSON value: objects by sorted keys, arrays and scalars by kind. */
function shape(v: unknown, skip: Set<string>, at = ''): unknown {
  if (Array.isArray(v)) return 'array';
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = skip.has(`${at}.${k}`) ? '…' : shape((v as Record<string, unknown>)[k], skip, `${at}.${k}`);
    return out;
  }
  return v === null ? 'null' : typeof v;
}

describe('events', () => {
  test('--stats: one JSON object of type "stats" with cpu, memory, pids, blkio — the same shape as runc\'s', () => {
    const c = startDetached('ev-stats', ['sleep', '60']);
    const r = lab.run('carton', ['events', '--stats', c.id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const ev = JSON.parse(r.stdout) as { type: string; id: string; data: Record<string, any> };
    assert.equal(ev.type, 'stats');
    assert.equal(ev.id, c.id);
    assert.ok(ev.data.cpu.usage.total > 0);
    assert.equal(ev.data.cpu.usage.percpu.length, fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)!.length);
    assert.ok(ev.data.memory.usage.usage > 0);
    // At least the sleep; a just-exited helper can stay charged until the host's init reaps it.
    assert.ok(ev.data.pids.current >= 1 && ev.data.pids.current <= 2, `pids.current ${ev.data.pids.current}`);
    if (!RUNC_AVAILABLE) return;
    const rc = startDetached('ev-stats-runc', ['sleep', '60'], 'runc');
    const rr = lab.run('runc', ['events', '--stats', rc.id]);
    assert.equal(rr.status, 0, rr.stderr);
    const rev = JSON.parse(rr.stdout);
    // memory.raw holds whatever memory.stat lists; its keys are the kernel's, not the runtime's.
    const skip = new Set(['.data.memory.raw']);
    assert.deepEqual(shape(ev, skip), shape(rev, skip));
    assert.deepEqual(Object.keys(ev.data.memory.raw).sort(), Object.keys(rev.data.memory.raw).sort());
  });

  test('--stats: 64-bit counters keep every digit (memory.usage.limit equals memory.limit_in_bytes)', () => {
    const c = startDetached('ev-u64', ['sleep', '60']);
    const r = lab.run('carton', ['events', '--stats', c.id]);
    assert.equal(r.status, 0, r.stderr);
    const limit = cg('memory', c.id, 'memory.limit_in_bytes');
    assert.match(r.stdout, new RegExp(`"usage":\\{"limit":${limit},`));
  });

  test('--interval 1s streams stats while the container runs and ends (exit 0) when it exits', async () => {
    const c = startDetached('ev-interval', ['sleep', '3']);
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, '--root', lab.roots.carton, 'events', '--interval', '1s', c.id], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    const took = Date.now() - t0;
    assert.equal(code, 0, `events ended with ${code} after ${took} ms`);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string });
    assert.ok(lines.length >= 2, `${lines.length} events in ${took} ms`);
    for (const l of lines) assert.deepEqual([l.type, l.id], ['stats', c.id]);
    assert.ok(took < 8000, `took ${took} ms after a 3 s container`);
    // runc 1.1.5 keeps printing the last stats forever after the container exits; ending is carton's choice.
  });
});

describe('update', () => {
  const c = { id: '', b: '' };

  test('limit flags reach the cgroup files', () => {
    Object.assign(c, startDetached('update', ['sleep', '60']));
    const r = lab.run('carton', ['update', '--memory', '64m', '--memory-reservation', '32m', '--memory-swap', '128m', '--cpu-shares', '512', '--cpu-period', '100000', '--cpu-quota', '50000', '--cpuset-cpus', '0', '--cpuset-mems', '0', '--pids-limit', '42', c.id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(cg('memory', c.id, 'memory.limit_in_bytes'), String(64 << 20));
    assert.equal(cg('memory', c.id, 'memory.soft_limit_in_bytes'), String(32 << 20));
    assert.equal(cg('memory', c.id, 'memory.memsw.limit_in_bytes'), String(128 << 20));
    assert.equal(cg('cpu', c.id, 'cpu.shares'), '512');
    assert.equal(cg('cpu', c.id, 'cpu.cfs_period_us'), '100000');
    assert.equal(cg('cpu', c.id, 'cpu.cfs_quota_us'), '50000');
    assert.equal(cg('cpuset', c.id, 'cpuset.cpus'), '0');
    assert.equal(cg('cpuset', c.id, 'cpuset.mems'), '0');
    assert.equal(cg('pids', c.id, 'pids.max'), '42');
    // And the container sees them through its own /sys/fs/cgroup.
    const inside = lab.run('carton', ['exec', c.id, 'cat', '/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
    assert.equal(inside.stdout, `42\n${64 << 20}\n`, inside.stderr);
  });

  test('--resources - reads LinuxResources JSON from stdin; --resources FILE from a file', () => {
    const r = lab.run('carton', ['update', '--resources', '-', c.id], JSON.stringify({ memory: { limit: 96 << 20 }, cpu: { quota: 20000, shares: 256 }, pids: { limit: 77 } }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(cg('memory', c.id, 'memory.limit_in_bytes'), String(96 << 20));
    assert.equal(cg('cpu', c.id, 'cpu.cfs_quota_us'), '20000');
    assert.equal(cg('cpu', c.id, 'cpu.shares'), '256');
    assert.equal(cg('pids', c.id, 'pids.max'), '77');
    const file = path.join(c.b, 'resources.json');
    fs.writeFileSync(file, JSON.stringify({ pids: { limit: 88 } }));
    assert.equal(lab.run('carton', ['update', '-r', file, c.id]).status, 0);
    assert.equal(cg('pids', c.id, 'pids.max'), '88');
  });

  test('bad values: an error naming the field or flag, and the cgroup keeps its limits', () => {
    const cases: [string[], string | undefined, RegExp][] = [
      [['update', '--cpuset-cpus', '99', c.id], undefined, /linux\.resources\.cpu\.cpus: .*cpuset\.cpus=99/],
      [['update', '--memory', 'lots', c.id], undefined, /--memory \(lots\): invalid size/],
      [['update', '--pids-limit', 'x', c.id], undefined, /--pids-limit/],
      [['update', '-r', '-', c.id], '{"memory": ', /--resources \(-\): invalid JSON/],
      [['update', '-r', '/nonexistent/carton-test.json', c.id], undefined, /--resources \(\/nonexistent\/carton-test\.json\): .*no such file or directory/],
      // Wrong JSON types are refused before anything is written (they used to reach the files as NaN),
      // even when a valid field comes first in the same document.
      [['update', '-r', '-', c.id], '{"memory":{"limit":"abc"}}', /--resources \(-\): memory\.limit: expected an integer, got "abc"/],
      [['update', '-r', '-', c.id], '{"pids":{"limit":50},"memory":{"limit":"abc"}}', /memory\.limit: expected an integer, got "abc"/],
      [['update', '-r', '-', c.id], '{"pids":{"limit":true}}', /--resources \(-\): pids\.limit: expected an integer, got true/],
      [['update', '-r', '-', c.id], '{"cpu":{"shares":1.5,"quota":"x"}}', /cpu\.shares: expected an integer, got 1\.5/],
      [['update', '-r', '-', c.id], '{"cpu":{"cpus":0}}', /cpu\.cpus: expected a string, got 0/],
      [['update', '-r', '-', c.id], '[1]', /--resources \(-\): resources: expected a JSON object/],
      [['update', '--memory', 'abc', c.id], undefined, /--memory \(abc\): invalid size/],
      [['update', '--cpu-quota', 'x', c.id], undefined, /invalid value "x" for flag --cpu-quota: must be a number/],
      [['update', '--pids-limit', '-x', c.id], undefined, /invalid value "-x" for flag --pids-limit: must be a number/],
      [['update', '--cpu-shares', '1.5', c.id], undefined, /--cpu-shares: expected an integer, got 1\.5/],
      [['update', '--pids-limit', '-5', c.id], undefined, /--pids-limit: must be at least -1, got -5/],
    ];
    for (const [args, input, pattern] of cases) {
      const r = lab.run('carton', args, input);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, pattern);
    }
    assert.equal(cg('cpuset', c.id, 'cpuset.cpus'), '0');
    assert.equal(cg('memory', c.id, 'memory.limit_in_bytes'), String(96 << 20));
    assert.equal(cg('pids', c.id, 'pids.max'), '88');
    assert.equal(cg('cpu', c.id, 'cpu.shares'), '256');
    assert.equal(cg('cpu', c.id, 'cpu.cfs_quota_us'), '20000');
    assert.equal(lab.state('carton', c.id).status, 'running');
  });

  test('delete leaves nothing', () => {
    assert.equal(lab.run('carton', ['delete', '--force', c.id]).status, 0);
    assert.deepEqual(lab.leaks('carton', c.id, c.b), []);
  });
});

describe('pause and resume', () => {
  test('the v1 freezer goes FROZEN and back, and the container makes no progress meanwhile', () => {
    const c = startDetached('freeze', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done']);
    const tick = path.join(c.b, 'rootfs', 'tmp', 'tick');
    assert.ok(waitUntil(() => fs.existsSync(tick)));
    assert.equal(lab.run('carton', ['pause', c.id]).status, 0);
    assert.equal(cg('freezer', c.id, 'freezer.state'), 'FROZEN');
    assert.equal(lab.state('carton', c.id).status, 'paused');
    const frozenAt = fs.readFileSync(tick, 'utf8');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
    assert.equal(fs.readFileSync(tick, 'utf8'), frozenAt, 'the loop ran while paused');
    assert.equal(lab.run('carton', ['resume', c.id]).status, 0);
    assert.equal(cg('freezer', c.id, 'freezer.state'), 'THAWED');
    assert.equal(lab.state('carton', c.id).status, 'running');
    assert.ok(waitUntil(() => fs.readFileSync(tick, 'utf8') !== frozenAt), 'the loop did not resume');
    // A paused container can still be deleted by force, leaving nothing.
    assert.equal(lab.run('carton', ['pause', c.id]).status, 0);
    assert.equal(lab.run('carton', ['delete', '--force', c.id]).status, 0);
    assert.deepEqual(lab.leaks('carton', c.id, c.b), []);
  });
});

describe('kill --all', () => {
  /** A container sharing the host pid namespace, so killing its init does not take the rest with it. */
  const noPidns = (s: Spec): void => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
  };
  const pidsOf = (id: string): number[] => JSON.parse(lab.run('carton', ['ps', '--format', 'json', id]).stdout) as number[];
  const alive = (pid: number): boolean => {
    try {
      return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };

  test('reaches every process in the cgroup: init, its children and an exec\'d process', () => {
    const c = startDetached('killall', ['sh', '-c', 'sleep 100 & sleep 101 & wait'], 'carton', noPidns);
    assert.equal(lab.detached('carton', ['exec', '-d', c.id, 'sleep', '102']).status, 0);
    assert.ok(waitUntil(() => pidsOf(c.id).length === 4), `ps: ${pidsOf(c.id)}`);
    const pids = pidsOf(c.id);
    const r = lab.run('carton', ['kill', '--all', c.id, 'KILL']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(waitUntil(() => pids.every((p) => !alive(p))), `still alive: ${pids.filter(alive)}`);
    assert.ok(waitUntil(() => lab.state('carton', c.id).status === 'stopped'));
    assert.equal(lab.run('carton', ['delete', c.id]).status, 0);
    assert.deepEqual(lab.leaks('carton', c.id, c.b), []);
  });

  test('control: without --all only init gets the signal; the rest survive until delete --force', () => {
    const c = startDetached('killinit', ['sh', '-c', 'sleep 100 & sleep 101 & wait'], 'carton', noPidns);
    assert.ok(waitUntil(() => pidsOf(c.id).length === 3));
    const pids = pidsOf(c.id);
    const init = lab.state('carton', c.id).pid;
    assert.equal(lab.run('carton', ['kill', c.id, 'KILL']).status, 0);
    assert.ok(waitUntil(() => !alive(init)));
    const rest = pids.filter((p) => p !== init);
    assert.ok(rest.every(alive), 'children of init died with it although they share the host pid namespace');
    assert.equal(lab.run('carton', ['delete', '--force', c.id]).status, 0);
    assert.ok(waitUntil(() => rest.every((p) => !alive(p))), 'delete --force left processes');
    assert.deepEqual(lab.leaks('carton', c.id, c.b), []);
  });
});
