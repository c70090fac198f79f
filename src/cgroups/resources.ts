/**
 * OCI `linux.resources` → ordered cgroup file writes (pure). Each controller's values
 * go to whichever hierarchy holds that controller (v1 or cgroup2), so one plan serves
 * v1, v2 and hybrid hosts. Conversions follow what runc and crun do, so a config gives
 * the same limits under Carton as under them:
 * - v2 cpu.weight from cpu.shares: 1 + (shares - 2) * 9999 / 262142 (integer);
 * - v2 memory.swap.max = swap - limit (OCI swap is memory+swap, as v1's memsw);
 * - v2 io.weight from blkio weight 10..1000: 1 + (weight - 10) * 9999 / 990.
 */
import { CartonError } from '../common/errors';
import type { LinuxCPU, LinuxMemory, LinuxResources } from '../oci/spec';
import { planDevices } from './devices';
import { planBlockIO, planHugepages, planUnified } from './resources-io';
import { CgroupWrite, ControllerPlacement, num, placeController, ResourceNote, ResourcePlan } from './writes';

export interface PlanOptions {
  /**
   * The current v1 memory.limit_in_bytes, when updating: decides whether memsw or
   * the limit must be written first (the kernel keeps memsw >= limit at every step).
   * Absent = a fresh cgroup (unlimited).
   */
  currentMemoryLimit?: number;
}

const F = 'linux.resources';

/** Translate resources into the writes for this host's controller placement. */
export function planResources(
  resources: LinuxResources | undefined,
  placement: ControllerPlacement,
  opts: PlanOptions = {},
): ResourcePlan {
  const plan: ResourcePlan = { writes: [], notes: [] };
  if (!resources) return plan;
  if (resources.memory) planMemory(resources.memory, placement, opts, plan);
  if (resources.cpu) planCPU(resources.cpu, placement, plan);
  if (resources.pids && resources.pids.limit !== 0 && resources.pids.limit !== undefined) {
    const at = need(placement, 'pids', `${F}.pids.limit`);
    const limit = resources.pids.limit;
    plan.writes.push({ hierarchy: at.hierarchy, file: 'pids.max', value: limit > 0 ? num(limit) : 'max', field: `${F}.pids.limit` });
  }
  if (resources.blockIO) planBlockIO(resources.blockIO, placement, plan);
  if (resources.hugepageLimits) planHugepages(resources.hugepageLimits, placement, plan);
  if (resources.network && (resources.network.classID !== undefined || resources.network.priorities?.length)) {
    plan.notes.push({ field: `${F}.network`, message: 'net_cls/net_prio are not applied by Carton (use tc/nftables)' });
  }
  if (resources.rdma && Object.keys(resources.rdma).length > 0) {
    plan.notes.push({ field: `${F}.rdma`, message: 'rdma limits are not applied by Carton' });
  }
  if (resources.unified && Object.keys(resources.unified).length > 0) planUnified(resources.unified, placement, plan);
  if (resources.devices) planDevices(resources.devices, placement, plan);
  return plan;
}

/** The hierarchy holding a controller, or a clear error naming the field. */
export function need(placement: ControllerPlacement, controller: string, field: string): { hierarchy: string; version: 1 | 2 } {
  const at = placeController(placement, controller);
  if (!at) {
    throw new CartonError('EUNSUPPORTED', `${field}: the ${controller} cgroup controller is not available on this host`, {
      hint: placement.v2 && !placement.v1.size ? `enable it in cgroup.subtree_control of the parent cgroups` : undefined,
    });
  }
  return at;
}

function isSet(n: number | undefined): n is number {
  return n !== undefined && n !== null && n !== 0;
}

function planMemory(m: LinuxMemory, placement: ControllerPlacement, opts: PlanOptions, plan: ResourcePlan): void {
  const wanted = isSet(m.limit) || isSet(m.reservation) || isSet(m.swap) || m.disableOOMKiller ||
    (m.swappiness !== undefined && m.swappiness !== null && m.swappiness >= 0);
  if (isSet(m.kernel)) plan.notes.push({ field: `${F}.memory.kernel`, message: 'kernel memory limits are deprecated by the kernel; ignored' });
  if (isSet(m.kernelTCP)) plan.notes.push({ field: `${F}.memory.kernelTCP`, message: 'kernel TCP memory limits are ignored' });
  if (!wanted) return;
  const at = need(placement, 'memory', `${F}.memory`);
  const h = at.hierarchy;
  const push = (w: Omit<CgroupWrite, 'hierarchy'>): void => { plan.writes.push({ hierarchy: h, ...w }); };
  if (isSet(m.limit) && m.limit < -1) throw badValue('memory.limit', m.limit);
  if (isSet(m.swap) && m.swap < -1) throw badValue('memory.swap', m.swap);
  if (isSet(m.swap) && m.swap > 0 && isSet(m.limit) && m.limit > 0 && m.swap < m.limit) {
    throw new CartonError('EINVAL_CONFIG', `${F}.memory.swap: ${m.swap} is below memory.limit ${m.limit} (swap counts memory+swap)`);
  }

  if (at.version === 1) {
    const limitW = isSet(m.limit) ? { file: 'memory.limit_in_bytes', value: num(m.limit), field: `${F}.memory.limit` } : undefined;
    let swapW: Omit<CgroupWrite, 'hierarchy'> | undefined;
    if (isSet(m.swap)) swapW = { file: 'memory.memsw.limit_in_bytes', value: num(m.swap), field: `${F}.memory.swap` };
    // "unlimited memory" with no word on swap means unlimited swap too, where swap is accounted.
    else if (m.limit === -1) swapW = { file: 'memory.memsw.limit_in_bytes', value: '-1', field: `${F}.memory.swap`, ifExists: true };
    const current = opts.currentMemoryLimit ?? Number.MAX_SAFE_INTEGER;
    const swapFirst = swapW !== undefined && limitW !== undefined && (m.swap === -1 || (m.swap ?? 0) > current);
    if (swapFirst) { push(swapW!); push(limitW!); } else { if (limitW) push(limitW); if (swapW) push(swapW); }
    if (isSet(m.reservation)) push({ file: 'memory.soft_limit_in_bytes', value: num(m.reservation), field: `${F}.memory.reservation` });
    if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness >= 0) {
      if (m.swappiness > 100) throw new CartonError('EINVAL_CONFIG', `${F}.memory.swappiness: ${m.swappiness} is above 100`);
      push({ file: 'memory.swappiness', value: num(m.swappiness), field: `${F}.memory.swappiness` });
    }
    if (m.disableOOMKiller) push({ file: 'memory.oom_control', value: '1', field: `${F}.memory.disableOOMKiller` });
    return;
  }

  const swap = v2Swap(m);
  if (swap !== undefined) {
    // Writing "max"/"0" where swap is not accounted changes nothing: skip as runc does.
    push({ file: 'memory.swap.max', value: swap, field: `${F}.memory.swap`, ifExists: swap === 'max' || swap === '0' });
  }
  if (isSet(m.limit)) push({ file: 'memory.max', value: m.limit === -1 ? 'max' : num(m.limit), field: `${F}.memory.limit` });
  if (isSet(m.reservation)) push({ file: 'memory.low', value: m.reservation === -1 ? 'max' : num(m.reservation), field: `${F}.memory.reservation` });
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness >= 0) {
    plan.notes.push({ field: `${F}.memory.swappiness`, message: 'cgroup v2 has no per-cgroup swappiness; ignored' });
  }
  if (m.disableOOMKiller) plan.notes.push({ field: `${F}.memory.disableOOMKiller`, message: 'cgroup v2 cannot disable the OOM killer; ignored' });
}

/** OCI memory+swap → v2 memory.swap.max (swap alone), as runc converts it. */
export function v2Swap(m: LinuxMemory): string | undefined {
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  if (limit === -1 && swap === 0) return 'max';
  if (swap === -1) return 'max';
  if (swap === 0) return undefined;
  if (limit === 0 || limit === -1) {
    throw new CartonError('EINVAL_CONFIG', `${F}.memory.swap: a swap limit needs a memory limit on cgroup v2`);
  }
  return num(swap - limit);
}

function badValue(field: string, v: number): CartonError {
  return new CartonError('EINVAL_CONFIG', `${F}.${field}: invalid value ${v}`);
}

/** cpu.shares (2..262144) → cpu.weight (1..10000), 0 meaning unset. */
export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

function planCPU(c: LinuxCPU, placement: ControllerPlacement, plan: ResourcePlan): void {
  const f = `${F}.cpu`;
  const cpuWanted = isSet(c.shares) || isSet(c.quota) || isSet(c.period) || isSet(c.burst) ||
    isSet(c.realtimePeriod) || isSet(c.realtimeRuntime) || (c.idle !== undefined && c.idle !== null);
  if (cpuWanted) {
    const at = need(placement, 'cpu', f);
    const push = (file: string, value: string, field: string, extra: Partial<CgroupWrite> = {}): void => {
      plan.writes.push({ hierarchy: at.hierarchy, file, value, field, ...extra });
    };
    if (at.version === 1) {
      if (isSet(c.shares)) push('cpu.shares', num(c.shares), `${f}.shares`);
      if (isSet(c.period)) push('cpu.cfs_period_us', num(c.period), `${f}.period`, { retryAfterOthers: isSet(c.quota) });
      if (isSet(c.quota)) push('cpu.cfs_quota_us', num(c.quota), `${f}.quota`);
      if (c.burst !== undefined && c.burst !== null) push('cpu.cfs_burst_us', num(c.burst), `${f}.burst`);
      if (isSet(c.realtimePeriod)) push('cpu.rt_period_us', num(c.realtimePeriod), `${f}.realtimePeriod`);
      if (isSet(c.realtimeRuntime)) push('cpu.rt_runtime_us', num(c.realtimeRuntime), `${f}.realtimeRuntime`);
    } else {
      if (isSet(c.realtimePeriod) || isSet(c.realtimeRuntime)) {
        throw new CartonError('EUNSUPPORTED', `${f}.realtimeRuntime: cgroup v2 has no realtime CPU limits`);
      }
      if (isSet(c.shares)) push('cpu.weight', num(sharesToWeight(c.shares)), `${f}.shares`);
      if (isSet(c.quota) || isSet(c.period)) {
        let value = isSet(c.quota) && c.quota > 0 ? num(c.quota) : 'max';
        if (isSet(c.period)) value += ` ${num(c.period)}`;
        push('cpu.max', value, isSet(c.quota) ? `${f}.quota` : `${f}.period`);
      }
      if (c.burst !== undefined && c.burst !== null) push('cpu.max.burst', num(c.burst), `${f}.burst`);
    }
    if (c.idle !== undefined && c.idle !== null) push('cpu.idle', num(c.idle), `${f}.idle`);
  }
  if (c.cpus || c.mems) {
    const at = need(placement, 'cpuset', `${f}.${c.cpus ? 'cpus' : 'mems'}`);
    // mems before cpus is irrelevant to the kernel; cpus first reads naturally in errors.
    if (c.cpus) plan.writes.push({ hierarchy: at.hierarchy, file: 'cpuset.cpus', value: c.cpus, field: `${f}.cpus` });
    if (c.mems) plan.writes.push({ hierarchy: at.hierarchy, file: 'cpuset.mems', value: c.mems, field: `${f}.mems` });
  }
}

export type { CgroupWrite, ResourceNote, ResourcePlan, ControllerPlacement };
