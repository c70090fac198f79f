import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseCpuList, readStats } from './stats';
import { applyPlan } from './apply';
import { CartonError } from '../common/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-cgstats-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fake(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), v);
  return dir;
}

test('v2 stats in runc events shape', () => {
  const dir = fake('v2', {
    'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n',
    'memory.current': '4096\n', 'memory.max': 'max\n', 'memory.peak': '8192\n', 'memory.events': 'low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n',
    'memory.stat': 'anon 1000\nfile 3000\n', 'memory.swap.current': '0\n', 'memory.swap.max': '0\n',
    'pids.current': '3\n', 'pids.max': 'max\n', 'io.stat': '8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n',
    'cpuset.cpus.effective': '0-1,3\n', 'cpuset.mems.effective': '0\n',
  });
  const s = readStats(() => ({ dir, version: 2 }));
  assert.deepEqual(s.cpu, { usage: { total: 1500000, kernel: 500000, user: 1000000 }, throttling: { periods: 3, throttledPeriods: 1, throttledTime: 7000 } });
  assert.deepEqual(s.memory.usage, { limit: 18446744073709551615, usage: 4096, max: 8192, failcnt: 2 });
  assert.equal(s.memory.cache, 3000);
  assert.deepEqual(s.memory.swap, { limit: 18446744073709551615, usage: 4096, failcnt: 0 });
  assert.deepEqual(s.pids, { current: 3 });
  assert.deepEqual(s.blkio.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 200 }]);
  assert.deepEqual(s.cpuset.cpus, [0, 1, 3]);
  assert.equal(s.network_interfaces, null);
  assert.match(JSON.stringify(s), /"throttledPeriods":1/);
});

test('v1 stats from per-controller dirs', () => {
  const acct = fake('v1/cpuacct', {
    'cpuacct.usage': '900\n', 'cpuacct.usage_percpu': '400 500 \n', 'cpuacct.stat': 'user 2\nsystem 1\n',
    'cpuacct.usage_all': 'cpu user system\n0 300 100\n1 500 0\n',
  });
  const mem = fake('v1/memory', {
    'memory.limit_in_bytes': '1048576\n', 'memory.usage_in_bytes': '4096\n', 'memory.max_usage_in_bytes': '8192\n', 'memory.failcnt': '5\n',
    'memory.stat': 'cache 10\nrss 20\n',
  });
  const pids = fake('v1/pids', { 'pids.current': '1\n', 'pids.max': '10\n' });
  const blk = fake('v1/blkio', { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n' });
  const dirs: Record<string, string> = { cpuacct: acct, memory: mem, pids, blkio: blk };
  const s = readStats((c) => (dirs[c] ? { dir: dirs[c], version: 1 } : undefined));
  assert.deepEqual(s.cpu.usage, { total: 900, percpu: [400, 500], percpu_kernel: [100, 0], percpu_user: [300, 500], kernel: 10000000, user: 20000000 });
  assert.deepEqual(s.hugetlb, {});
  assert.deepEqual(s.memory.usage, { limit: 1048576, usage: 4096, max: 8192, failcnt: 5 });
  assert.deepEqual(s.memory.raw, { cache: 10, rss: 20 });
  assert.deepEqual(s.pids, { current: 1, limit: 10 });
  assert.equal(s.blkio.ioServiceBytesRecursive?.length, 3);
  assert.deepEqual(parseCpuList('0,2-4'), [0, 2, 3, 4]);
});

test('applyPlan: fallbacks when a file is missing, ifExists skips, errors name field, file and reason', () => {
  const dir = fake('apply', { 'blkio.bfq.weight': '', 'memory.limit_in_bytes': '' });
  applyPlan({ blkio: dir, memory: dir }, {
    notes: [],
    writes: [
      { hierarchy: 'blkio', file: 'blkio.weight', value: '500', field: 'f.weight', fallbacks: [{ file: 'blkio.bfq.weight', value: '500' }] },
      { hierarchy: 'memory', file: 'memory.memsw.limit_in_bytes', value: '-1', field: 'f.swap', ifExists: true },
      { hierarchy: 'memory', file: 'memory.limit_in_bytes', value: '1024', field: 'f.limit' },
    ],
  });
  assert.equal(fs.readFileSync(path.join(dir, 'blkio.bfq.weight'), 'utf8'), '500');
  assert.equal(fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes')), false);
  assert.equal(fs.readFileSync(path.join(dir, 'memory.limit_in_bytes'), 'utf8'), '1024');
  assert.throws(() => applyPlan({ memory: dir }, { notes: [], writes: [{ hierarchy: 'memory', file: 'memory.memsw.limit_in_bytes', value: '5', field: 'linux.resources.memory.swap' }] }),
    (e: unknown) => e instanceof CartonError && e.code === 'EKERNEL' &&
      e.message === 'linux.resources.memory.swap: write memory.memsw.limit_in_bytes=5: no such file or directory' && /swapaccount/.test(e.hint ?? ''));
});
