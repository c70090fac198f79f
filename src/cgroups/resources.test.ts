import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResources, sharesToWeight, v2Swap } from './resources';
import { blkioToIOWeight } from './resources-io';
import { CartonError } from '../common/errors';
import type { ControllerPlacement } from './writes';

const V1: ControllerPlacement = { v1: new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']) };
const HYBRID: ControllerPlacement = { v1: V1.v1, v2: new Set(['hugetlb']) };
const V2: ControllerPlacement = { v1: new Set(), v2: new Set(['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']) };

const brief = (p: ReturnType<typeof planResources>): string[] => p.writes.map((w) => `${w.hierarchy}/${w.file}=${w.value} <${w.field}>`);
const isErr = (code: string, re: RegExp) => (e: unknown): boolean => e instanceof CartonError && e.code === code && re.test(e.message);

test('memory on v1: limit, memsw as memory+swap, soft limit, swappiness, OOM killer; kernel fields are notes', () => {
  const p = planResources({ memory: { limit: 100, swap: 300, reservation: 50, swappiness: 10, disableOOMKiller: true, kernel: 5, kernelTCP: 6 } }, V1);
  assert.deepEqual(brief(p), [
    'memory/memory.limit_in_bytes=100 <linux.resources.memory.limit>',
    'memory/memory.memsw.limit_in_bytes=300 <linux.resources.memory.swap>',
    'memory/memory.soft_limit_in_bytes=50 <linux.resources.memory.reservation>',
    'memory/memory.swappiness=10 <linux.resources.memory.swappiness>',
    'memory/memory.oom_control=1 <linux.resources.memory.disableOOMKiller>',
  ]);
  assert.deepEqual(p.notes.map((n) => n.field), ['linux.resources.memory.kernel', 'linux.resources.memory.kernelTCP']);
});

test('memory on v1 update: memsw first when it rises above the current limit', () => {
  const up = planResources({ memory: { limit: 300, swap: 400 } }, V1, { currentMemoryLimit: 100 });
  assert.deepEqual(up.writes.map((w) => w.file), ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
  const down = planResources({ memory: { limit: 50, swap: 80 } }, V1, { currentMemoryLimit: 100 });
  assert.deepEqual(down.writes.map((w) => w.file), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
  const unlimited = planResources({ memory: { limit: -1 } }, V1);
  assert.deepEqual(brief(unlimited), ['memory/memory.limit_in_bytes=-1 <linux.resources.memory.limit>', 'memory/memory.memsw.limit_in_bytes=-1 <linux.resources.memory.swap>']);
  assert.equal(unlimited.writes[1].ifExists, true);
});

test('memory on v2: swap.max = swap - limit, memory.low, swappiness and OOM killer are notes', () => {
  const p = planResources({ memory: { limit: 100, swap: 300, reservation: 50, swappiness: 10, disableOOMKiller: true } }, V2);
  assert.deepEqual(brief(p), [
    'unified/memory.swap.max=200 <linux.resources.memory.swap>',
    'unified/memory.max=100 <linux.resources.memory.limit>',
    'unified/memory.low=50 <linux.resources.memory.reservation>',
  ]);
  assert.deepEqual(p.notes.map((n) => n.field), ['linux.resources.memory.swappiness', 'linux.resources.memory.disableOOMKiller']);
  assert.equal(v2Swap({ limit: -1 }), 'max');
  assert.equal(v2Swap({ limit: 100, swap: -1 }), 'max');
  assert.equal(v2Swap({ limit: 100 }), undefined);
  assert.equal(v2Swap({ limit: 100, swap: 100 }), '0');
  assert.throws(() => v2Swap({ swap: 100 }), isErr('EINVAL_CONFIG', /needs a memory limit/));
  assert.throws(() => planResources({ memory: { limit: 100, swap: 50 } }, V2), isErr('EINVAL_CONFIG', /memory\.swap: 50 is below/));
  assert.throws(() => planResources({ memory: { swappiness: 101 } }, V1), isErr('EINVAL_CONFIG', /swappiness/));
});

test('cpu on v1 and v2: shares/weight, quota and period, burst, idle, cpuset', () => {
  const cpu = { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0', mems: '0' };
  assert.deepEqual(brief(planResources({ cpu }, V1)), [
    'cpu/cpu.shares=1024 <linux.resources.cpu.shares>',
    'cpu/cpu.cfs_period_us=100000 <linux.resources.cpu.period>',
    'cpu/cpu.cfs_quota_us=50000 <linux.resources.cpu.quota>',
    'cpu/cpu.cfs_burst_us=1000 <linux.resources.cpu.burst>',
    'cpu/cpu.idle=0 <linux.resources.cpu.idle>',
    'cpuset/cpuset.cpus=0 <linux.resources.cpu.cpus>',
    'cpuset/cpuset.mems=0 <linux.resources.cpu.mems>',
  ]);
  assert.equal(planResources({ cpu }, V1).writes[1].retryAfterOthers, true);
  assert.deepEqual(brief(planResources({ cpu }, V2)), [
    'unified/cpu.weight=39 <linux.resources.cpu.shares>',
    'unified/cpu.max=50000 100000 <linux.resources.cpu.quota>',
    'unified/cpu.max.burst=1000 <linux.resources.cpu.burst>',
    'unified/cpu.idle=0 <linux.resources.cpu.idle>',
    'unified/cpuset.cpus=0 <linux.resources.cpu.cpus>',
    'unified/cpuset.mems=0 <linux.resources.cpu.mems>',
  ]);
  assert.equal(planResources({ cpu: { quota: -1 } }, V2).writes[0].value, 'max');
  assert.equal(planResources({ cpu: { period: 20000 } }, V2).writes[0].value, 'max 20000');
  assert.deepEqual([sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144), sharesToWeight(0), sharesToWeight(1)], [1, 39, 10000, 0, 1]);
  assert.throws(() => planResources({ cpu: { realtimeRuntime: 10 } }, V2), isErr('EUNSUPPORTED', /realtime/));
  assert.deepEqual(planResources({ cpu: { realtimePeriod: 1000, realtimeRuntime: 10 } }, V1).writes.map((w) => w.file), ['cpu.rt_period_us', 'cpu.rt_runtime_us']);
});

test('pids: number, max for negative, nothing for 0', () => {
  assert.deepEqual(brief(planResources({ pids: { limit: 10 } }, V1)), ['pids/pids.max=10 <linux.resources.pids.limit>']);
  assert.deepEqual(brief(planResources({ pids: { limit: -1 } }, V2)), ['unified/pids.max=max <linux.resources.pids.limit>']);
  assert.deepEqual(planResources({ pids: { limit: 0 } }, V2).writes, []);
});

test('block I/O: v1 blkio files, v2 io.bfq.weight with io.weight fallback and io.max', () => {
  const blockIO = {
    weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
  };
  const v1 = planResources({ blockIO }, V1);
  assert.deepEqual(brief(v1), [
    'blkio/blkio.weight=500 <linux.resources.blockIO.weight>',
    'blkio/blkio.weight_device=8:0 100 <linux.resources.blockIO.weightDevice[0]>',
    'blkio/blkio.throttle.read_bps_device=8:0 1048576 <linux.resources.blockIO.throttleReadBpsDevice[0]>',
    'blkio/blkio.throttle.write_iops_device=8:0 0 <linux.resources.blockIO.throttleWriteIOPSDevice[0]>',
  ]);
  assert.deepEqual(v1.writes[0].fallbacks, [{ file: 'blkio.bfq.weight', value: '500' }]);
  const v2 = planResources({ blockIO }, V2);
  assert.deepEqual(brief(v2), [
    'unified/io.bfq.weight=500 <linux.resources.blockIO.weight>',
    'unified/io.bfq.weight=8:0 100 <linux.resources.blockIO.weightDevice[0]>',
    'unified/io.max=8:0 rbps=1048576 <linux.resources.blockIO.throttleReadBpsDevice[0]>',
    'unified/io.max=8:0 wiops=max <linux.resources.blockIO.throttleWriteIOPSDevice[0]>',
  ]);
  assert.deepEqual(v2.writes[0].fallbacks, [{ file: 'io.weight', value: String(blkioToIOWeight(500)) }]);
  assert.deepEqual([blkioToIOWeight(10), blkioToIOWeight(1000)], [1, 10000]);
  assert.throws(() => planResources({ blockIO: { weight: 5 } }, V1), isErr('EINVAL_CONFIG', /blockIO\.weight: weight 5/));
});

test('hugepages: v1 limit_in_bytes, v2 .max — on hybrid hosts on the cgroup2 mount', () => {
  const hugepageLimits = [{ pageSize: '2MB', limit: 4194304 }];
  assert.deepEqual(planResources({ hugepageLimits }, { v1: new Set(['hugetlb']) }).writes.map((w) => w.file), ['hugetlb.2MB.limit_in_bytes', 'hugetlb.2MB.rsvd.limit_in_bytes']);
  const hy = planResources({ hugepageLimits }, HYBRID);
  assert.deepEqual(brief(hy), [
    'unified/hugetlb.2MB.max=4194304 <linux.resources.hugepageLimits[0]>',
    'unified/hugetlb.2MB.rsvd.max=4194304 <linux.resources.hugepageLimits[0]>',
  ]);
  assert.throws(() => planResources({ hugepageLimits }, V1), isErr('EUNSUPPORTED', /hugepageLimits: the hugetlb cgroup controller is not available/));
  assert.throws(() => planResources({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, V2), isErr('EINVAL_CONFIG', /pageSize/));
});

test('unified: raw writes on v2, errors on v1 and for controllers cgroup2 lacks here', () => {
  assert.deepEqual(brief(planResources({ unified: { 'memory.high': '1000', 'cgroup.max.depth': '3' } }, V2)), [
    'unified/memory.high=1000 <linux.resources.unified["memory.high"]>',
    'unified/cgroup.max.depth=3 <linux.resources.unified["cgroup.max.depth"]>',
  ]);
  assert.deepEqual(planResources({ unified: { 'io.max': '8:0 rbps=1\n8:16 wbps=2\n' } }, V2).writes.map((w) => w.value), ['8:0 rbps=1', '8:16 wbps=2']);
  assert.throws(() => planResources({ unified: { 'memory.high': '1' } }, V1), isErr('EUNSUPPORTED', /needs cgroup v2/));
  assert.throws(() => planResources({ unified: { 'memory.high': '1' } }, HYBRID), isErr('EUNSUPPORTED', /memory controller is not available in cgroup v2/));
  assert.throws(() => planResources({ unified: { '../x': '1' } }, V2), isErr('EINVAL_CONFIG', /not a cgroup file name/));
});

test('a controller the host lacks fails with the field named', () => {
  assert.throws(() => planResources({ pids: { limit: 5 } }, { v1: new Set(['memory']) }), isErr('EUNSUPPORTED', /^linux\.resources\.pids\.limit: the pids cgroup controller/));
  assert.deepEqual(planResources(undefined, V1), { writes: [], notes: [] });
});
