/**
 * Resource usage in runc's `events --stats` shape (the "data" object), read from
 * whichever hierarchy holds each controller. Fields runc omits when zero are left out.
 */
import * as fs from 'fs';
import { readKeyValues, readNumber, tryRead } from './cgfs';

export interface BlkioEntry { major: number; minor: number; op: string; value: number }
export interface MemoryEntry { limit: number; usage?: number; max?: number; failcnt: number }

export interface CgroupStats {
  cpu: {
    usage: { total?: number; percpu?: number[]; percpu_kernel?: number[]; percpu_user?: number[]; kernel: number; user: number };
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  cpuset: { cpus?: number[]; mems?: number[] } & Record<string, number | number[] | undefined>;
  memory: { cache?: number; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, number> };
  pids: { current?: number; limit?: number };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[] };
  hugetlb: Record<string, { usage?: number; max?: number; failcnt: number }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

/** Where each controller's files are: dir and version, or undefined. */
export type Locate = (controller: string) => { dir: string; version: 1 | 2 } | undefined;

/** runc reports "no limit" as the largest u64. */
const UNLIMITED = 18446744073709551615;
/** cpuacct.stat counts USER_HZ ticks; Linux fixes USER_HZ at 100. */
const NS_PER_TICK = 1e7;

function drop<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) {
    const v = o[k];
    if (v === undefined || v === 0 || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

function cpuStats(locate: Locate): CgroupStats['cpu'] {
  const cpu = locate('cpu');
  const acct = locate('cpuacct');
  const usage: CgroupStats['cpu']['usage'] = { kernel: 0, user: 0 };
  const throttling: CgroupStats['cpu']['throttling'] = {};
  if (cpu?.version === 2) {
    const s = readKeyValues(cpu.dir, 'cpu.stat');
    usage.total = (s.usage_usec ?? 0) * 1000;
    usage.user = (s.user_usec ?? 0) * 1000;
    usage.kernel = (s.system_usec ?? 0) * 1000;
    throttling.periods = s.nr_periods;
    throttling.throttledPeriods = s.nr_throttled;
    throttling.throttledTime = (s.throttled_usec ?? 0) * 1000;
  } else {
    if (acct) {
      usage.total = readNumber(acct.dir, 'cpuacct.usage');
      const per = tryRead(acct.dir, 'cpuacct.usage_percpu');
      if (per) usage.percpu = per.trim().split(/\s+/).map(Number);
      // "cpu user system" then one line per CPU, in nanoseconds.
      const all = (tryRead(acct.dir, 'cpuacct.usage_all') ?? '').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).map(Number));
      if (all.length > 0 && all.every((r) => r.length === 3)) {
        usage.percpu_kernel = all.map((r) => r[2]);
        usage.percpu_user = all.map((r) => r[1]);
      }
      const s = readKeyValues(acct.dir, 'cpuacct.stat');
      usage.user = (s.user ?? 0) * NS_PER_TICK;
      usage.kernel = (s.system ?? 0) * NS_PER_TICK;
    }
    if (cpu) {
      const s = readKeyValues(cpu.dir, 'cpu.stat');
      throttling.periods = s.nr_periods;
      throttling.throttledPeriods = s.nr_throttled;
      throttling.throttledTime = s.throttled_time;
    }
  }
  const u = drop(usage);
  // runc always prints kernel and user, even when 0.
  u.kernel ??= 0;
  u.user ??= 0;
  return { usage: u, throttling: drop(throttling) };
}

function entryV1(dir: string, prefix: string): MemoryEntry {
  return drop({
    limit: readNumber(dir, `${prefix}.limit_in_bytes`) ?? 0,
    usage: readNumber(dir, `${prefix}.usage_in_bytes`),
    max: readNumber(dir, `${prefix}.max_usage_in_bytes`),
    failcnt: readNumber(dir, `${prefix}.failcnt`) ?? 0,
  }) as MemoryEntry;
}

function fixEntry(e: MemoryEntry): MemoryEntry {
  return { ...e, limit: e.limit ?? 0, failcnt: e.failcnt ?? 0 };
}

function memoryStats(locate: Locate): CgroupStats['memory'] {
  const m = locate('memory');
  const empty = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  if (!m) return { usage: empty(), swap: empty(), kernel: empty(), kernelTCP: empty() };
  const raw = readKeyValues(m.dir, 'memory.stat');
  if (m.version === 1) {
    return drop({
      cache: raw.cache,
      usage: fixEntry(entryV1(m.dir, 'memory')),
      swap: fixEntry(entryV1(m.dir, 'memory.memsw')),
      kernel: fixEntry(entryV1(m.dir, 'memory.kmem')),
      kernelTCP: fixEntry(entryV1(m.dir, 'memory.kmem.tcp')),
      raw,
    });
  }
  const events = readKeyValues(m.dir, 'memory.events');
  const usage = drop({
    limit: readNumber(m.dir, 'memory.max') ?? UNLIMITED,
    usage: readNumber(m.dir, 'memory.current'),
    max: readNumber(m.dir, 'memory.peak'),
    failcnt: events.max ?? 0,
  }) as MemoryEntry;
  // v2 counts swap alone; report memory+swap as v1 does (and runc on v2).
  const swapCurrent = readNumber(m.dir, 'memory.swap.current');
  const swapMax = readNumber(m.dir, 'memory.swap.max');
  const swap = drop({
    limit: swapMax === undefined || usage.limit === UNLIMITED ? UNLIMITED : swapMax + usage.limit,
    usage: swapCurrent === undefined ? undefined : swapCurrent + (usage.usage ?? 0),
    failcnt: readKeyValues(m.dir, 'memory.swap.events').max ?? 0,
  }) as MemoryEntry;
  return drop({ cache: raw.file, usage: fixEntry(usage), swap: fixEntry(swap), kernel: empty(), kernelTCP: empty(), raw });
}

function blkioV1(dir: string, file: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (tryRead(dir, file) ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line);
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

function blkioStats(locate: Locate): CgroupStats['blkio'] {
  const v1 = locate('blkio');
  if (v1 && v1.version === 1) {
    return drop({
      ioServiceBytesRecursive: blkioV1(v1.dir, 'blkio.throttle.io_service_bytes_recursive'),
      ioServicedRecursive: blkioV1(v1.dir, 'blkio.throttle.io_serviced_recursive'),
    });
  }
  const io = locate('io');
  if (!io) return {};
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (tryRead(io.dir, 'io.stat') ?? '').split('\n')) {
    const [dev, ...kvs] = line.split(' ');
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(kvs.map((s) => s.split('=')).map(([k, v]) => [k, Number(v)]));
    const at = { major: Number(m[1]), minor: Number(m[2]) };
    bytes.push({ ...at, op: 'Read', value: kv.rbytes ?? 0 }, { ...at, op: 'Write', value: kv.wbytes ?? 0 });
    ios.push({ ...at, op: 'Read', value: kv.rios ?? 0 }, { ...at, op: 'Write', value: kv.wios ?? 0 });
  }
  return drop({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios });
}

let pageSizes: string[] | undefined;

/** Huge page sizes as cgroup file names spell them ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  if (!pageSizes) {
    let names: string[] = [];
    try {
      names = fs.readdirSync('/sys/kernel/mm/hugepages');
    } catch {
      names = [];
    }
    pageSizes = names.map((n) => Number(/^hugepages-(\d+)kB$/.exec(n)?.[1] ?? 0)).filter((kb) => kb > 0)
      .map((kb) => (kb >= 1048576 ? `${kb / 1048576}GB` : kb >= 1024 ? `${kb / 1024}MB` : `${kb}KB`));
  }
  return pageSizes;
}

function hugetlbStats(locate: Locate): CgroupStats['hugetlb'] {
  const h = locate('hugetlb');
  const out: CgroupStats['hugetlb'] = {};
  if (!h) return out;
  for (const size of hugePageSizes()) {
    // Only sizes the cgroup accounts (hybrid hosts may not have hugetlb enabled on cgroup2).
    if (tryRead(h.dir, h.version === 1 ? `hugetlb.${size}.usage_in_bytes` : `hugetlb.${size}.current`) === undefined) continue;
    if (h.version === 1) {
      out[size] = drop({
        usage: readNumber(h.dir, `hugetlb.${size}.usage_in_bytes`),
        max: readNumber(h.dir, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: readNumber(h.dir, `hugetlb.${size}.failcnt`) ?? 0,
      });
    } else {
      out[size] = drop({
        usage: readNumber(h.dir, `hugetlb.${size}.current`),
        failcnt: readKeyValues(h.dir, `hugetlb.${size}.events`).max ?? 0,
      });
    }
    out[size].failcnt ??= 0;
  }
  return out;
}

/** "0-2,4" → [0, 1, 2, 4] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

const CPUSET_FLAGS = ['cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page',
  'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level'];

function cpusetStats(locate: Locate): CgroupStats['cpuset'] {
  const c = locate('cpuset');
  const out: CgroupStats['cpuset'] = {};
  for (const f of CPUSET_FLAGS) out[f] = 0;
  if (!c) return out;
  // v2 shows what the cgroup gets (effective); v1's cpuset.cpus is that already.
  const cpus = tryRead(c.dir, c.version === 2 ? 'cpuset.cpus.effective' : 'cpuset.cpus');
  const mems = tryRead(c.dir, c.version === 2 ? 'cpuset.mems.effective' : 'cpuset.mems');
  if (cpus) out.cpus = parseCpuList(cpus);
  if (mems) out.mems = parseCpuList(mems);
  if (c.version === 1) for (const f of CPUSET_FLAGS) out[f] = readNumber(c.dir, `cpuset.${f}`) ?? 0;
  return out;
}

export function readStats(locate: Locate): CgroupStats {
  const p = locate('pids');
  return {
    cpu: cpuStats(locate),
    cpuset: cpusetStats(locate),
    memory: memoryStats(locate),
    pids: p ? drop({ current: readNumber(p.dir, 'pids.current'), limit: readNumber(p.dir, 'pids.max') }) : {},
    blkio: blkioStats(locate),
    hugetlb: hugetlbStats(locate),
    intel_rdt: {},
    network_interfaces: null,
  };
}
