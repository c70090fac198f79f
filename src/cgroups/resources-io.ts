/**
 * Block I/O, huge pages and raw cgroup2 key/values → cgroup file writes (pure).
 * Split from resources.ts to keep each translator small.
 */
import { CartonError } from '../common/errors';
import type { LinuxBlockIO, LinuxHugepageLimit, LinuxThrottleDevice } from '../oci/spec';
import { CgroupWrite, ControllerPlacement, num, placeController, ResourcePlan } from './writes';

const F = 'linux.resources';

function needController(placement: ControllerPlacement, controller: string, field: string): { hierarchy: string; version: 1 | 2 } {
  const at = placeController(placement, controller);
  if (!at) throw new CartonError('EUNSUPPORTED', `${field}: the ${controller} cgroup controller is not available on this host`);
  return at;
}

/** blkio weight (10..1000) → io.weight (1..10000), as runc converts it. */
export function blkioToIOWeight(weight: number): number {
  if (!weight) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

function dev(d: { major: number; minor: number }): string {
  return `${num(d.major)}:${num(d.minor)}`;
}

const THROTTLES: [keyof LinuxBlockIO, string, string][] = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device', 'rbps'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device', 'wbps'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device', 'riops'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device', 'wiops'],
];

export function planBlockIO(b: LinuxBlockIO, placement: ControllerPlacement, plan: ResourcePlan): void {
  const f = `${F}.blockIO`;
  const wanted = !!b.weight || !!b.leafWeight || !!b.weightDevice?.length ||
    THROTTLES.some(([k]) => ((b[k] as LinuxThrottleDevice[] | undefined) ?? []).length > 0);
  if (!wanted) return;
  // v1 calls the controller blkio, v2 calls it io.
  const at = placeController(placement, 'blkio') ?? needController(placement, 'io', f);
  const h = at.hierarchy;
  const push = (w: Omit<CgroupWrite, 'hierarchy'>): void => { plan.writes.push({ hierarchy: h, ...w }); };
  const checkWeight = (w: number, field: string): void => {
    if (w < 10 || w > 1000) throw new CartonError('EINVAL_CONFIG', `${field}: weight ${w} is outside 10..1000`);
  };
  if (at.version === 1) {
    if (b.weight) {
      checkWeight(b.weight, `${f}.weight`);
      // Kernels with BFQ expose blkio.bfq.weight; CFQ-era kernels blkio.weight.
      push({ file: 'blkio.weight', value: num(b.weight), field: `${f}.weight`, fallbacks: [{ file: 'blkio.bfq.weight', value: num(b.weight) }] });
    }
    if (b.leafWeight) push({ file: 'blkio.leaf_weight', value: num(b.leafWeight), field: `${f}.leafWeight`, ifExists: true });
    (b.weightDevice ?? []).forEach((d, i) => {
      const field = `${f}.weightDevice[${i}]`;
      if (d.weight) {
        checkWeight(d.weight, field);
        const v = `${dev(d)} ${num(d.weight)}`;
        push({ file: 'blkio.weight_device', value: v, field, fallbacks: [{ file: 'blkio.bfq.weight_device', value: v }] });
      }
      if (d.leafWeight) push({ file: 'blkio.leaf_weight_device', value: `${dev(d)} ${num(d.leafWeight)}`, field, ifExists: true });
    });
    for (const [key, file] of THROTTLES) {
      ((b[key] as LinuxThrottleDevice[] | undefined) ?? []).forEach((t, i) => {
        push({ file, value: `${dev(t)} ${num(t.rate)}`, field: `${f}.${key}[${i}]` });
      });
    }
    return;
  }
  if (b.weight) {
    checkWeight(b.weight, `${f}.weight`);
    push({
      file: 'io.bfq.weight', value: num(b.weight), field: `${f}.weight`,
      fallbacks: [{ file: 'io.weight', value: num(blkioToIOWeight(b.weight)) }],
    });
  }
  if (b.leafWeight) plan.notes.push({ field: `${f}.leafWeight`, message: 'cgroup v2 has no leaf weight; ignored' });
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `${f}.weightDevice[${i}]`;
    if (d.weight) {
      checkWeight(d.weight, field);
      push({
        file: 'io.bfq.weight', value: `${dev(d)} ${num(d.weight)}`, field,
        fallbacks: [{ file: 'io.weight', value: `${dev(d)} ${num(blkioToIOWeight(d.weight))}` }],
      });
    }
  });
  for (const [key, , ioKey] of THROTTLES) {
    ((b[key] as LinuxThrottleDevice[] | undefined) ?? []).forEach((t, i) => {
      // io.max takes "max" to lift a limit; 0 in OCI means "no limit" as in v1.
      push({ file: 'io.max', value: `${dev(t)} ${ioKey}=${t.rate > 0 ? num(t.rate) : 'max'}`, field: `${f}.${key}[${i}]` });
    });
  }
}

const PAGE_SIZE = /^[0-9]+[KMG]B$/;

export function planHugepages(limits: LinuxHugepageLimit[], placement: ControllerPlacement, plan: ResourcePlan): void {
  if (limits.length === 0) return;
  const at = needController(placement, 'hugetlb', `${F}.hugepageLimits`);
  limits.forEach((l, i) => {
    const field = `${F}.hugepageLimits[${i}]`;
    if (!PAGE_SIZE.test(l.pageSize)) {
      throw new CartonError('EINVAL_CONFIG', `${field}.pageSize: ${JSON.stringify(l.pageSize)} is not a size like "2MB" or "1GB"`);
    }
    const v = num(l.limit);
    const [limitFile, rsvdFile] = at.version === 1
      ? [`hugetlb.${l.pageSize}.limit_in_bytes`, `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`]
      : [`hugetlb.${l.pageSize}.max`, `hugetlb.${l.pageSize}.rsvd.max`];
    plan.writes.push({ hierarchy: at.hierarchy, file: limitFile, value: v, field });
    // Reservations are accounted separately on newer kernels; limit them alike where they exist.
    plan.writes.push({ hierarchy: at.hierarchy, file: rsvdFile, value: v, field, ifExists: true });
  });
}

const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;

export function planUnified(unified: Record<string, string>, placement: ControllerPlacement, plan: ResourcePlan): void {
  if (!placement.v2) {
    throw new CartonError('EUNSUPPORTED', `${F}.unified: needs cgroup v2, and this host has cgroup v1 only`);
  }
  for (const [key, value] of Object.entries(unified)) {
    const field = `${F}.unified[${JSON.stringify(key)}]`;
    if (!UNIFIED_KEY.test(key) || key.includes('..')) {
      throw new CartonError('EINVAL_CONFIG', `${field}: not a cgroup file name`);
    }
    const controller = key.slice(0, key.indexOf('.'));
    if (controller !== 'cgroup') {
      const at = placeController(placement, controller);
      if (!at || at.version !== 2) {
        throw new CartonError('EUNSUPPORTED', `${field}: the ${controller} controller is not available in cgroup v2 on this host`);
      }
    }
    // Multi-line values (io.max for several devices) are one write per line.
    for (const line of String(value).split('\n')) {
      if (line.trim() !== '' || !String(value).includes('\n')) plan.writes.push({ hierarchy: 'unified', file: key, value: line, field });
    }
  }
}
