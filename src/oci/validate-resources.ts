/**
 * The types of linux.resources (LinuxResources), checked field by field before anything is
 * written: a string, boolean or fraction where the cgroup wants an integer would otherwise
 * become "NaN" in a cgroup file (or a half-applied update). Used by validateSpec for
 * config.json and by `update` for --resources FILE|-. Errors name the field:
 * `linux.resources.memory.limit: expected an integer, got "abc"`. Unknown fields are ignored
 * (as runc's JSON decoding does); null means "not given".
 */
import { CartonError } from '../common/errors';
import type { LinuxResources } from '../oci/spec';

/** int: any integer (-1 = unlimited where the kernel allows it); uint: ≥ 0. */
type Leaf = 'int' | 'uint' | 'string' | 'bool';
interface Shape {
  [field: string]: Leaf | Shape | { list: Leaf | Shape } | { map: Leaf | Shape };
}

const THROTTLE: Shape = { major: 'int', minor: 'int', rate: 'uint' };

const RESOURCES: Shape = {
  memory: {
    limit: 'int',
    reservation: 'int',
    swap: 'int',
    kernel: 'int',
    kernelTCP: 'int',
    swappiness: 'uint',
    disableOOMKiller: 'bool',
    useHierarchy: 'bool',
    checkBeforeUpdate: 'bool',
  },
  cpu: {
    shares: 'uint',
    quota: 'int',
    burst: 'uint',
    period: 'uint',
    realtimeRuntime: 'int',
    realtimePeriod: 'uint',
    cpus: 'string',
    mems: 'string',
    idle: 'int',
  },
  pids: { limit: 'int' },
  blockIO: {
    weight: 'uint',
    leafWeight: 'uint',
    weightDevice: { list: { major: 'int', minor: 'int', weight: 'uint', leafWeight: 'uint' } },
    throttleReadBpsDevice: { list: THROTTLE },
    throttleWriteBpsDevice: { list: THROTTLE },
    throttleReadIOPSDevice: { list: THROTTLE },
    throttleWriteIOPSDevice: { list: THROTTLE },
  },
  hugepageLimits: { list: { pageSize: 'string', limit: 'uint' } },
  network: { classID: 'uint', priorities: { list: { name: 'string', priority: 'uint' } } },
  rdma: { map: { hcaHandles: 'uint', hcaObjects: 'uint' } },
  unified: { map: 'string' },
  devices: { list: { allow: 'bool', type: 'string', major: 'int', minor: 'int', access: 'string' } },
};

function bad(field: string, message: string): never {
  throw new CartonError('EINVAL_CONFIG', `${field}: ${message}`);
}

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

function checkLeaf(kind: Leaf, v: unknown, field: string): void {
  switch (kind) {
    case 'int':
    case 'uint':
      if (typeof v !== 'number' || !Number.isInteger(v)) bad(field, `expected an integer, got ${shown(v)}`);
      if (kind === 'uint' && v < 0) bad(field, `expected a non-negative integer, got ${v}`);
      return;
    case 'string':
      if (typeof v !== 'string') bad(field, `expected a string, got ${shown(v)}`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') bad(field, `expected true or false, got ${shown(v)}`);
      return;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(shape: Shape[string], v: unknown, field: string): void {
  if (typeof shape === 'string') return checkLeaf(shape, v, field);
  if ('list' in shape && Object.keys(shape).length === 1) {
    if (!Array.isArray(v)) bad(field, `expected an array, got ${shown(v)}`);
    (v as unknown[]).forEach((item, i) => check(shape.list as Shape[string], item, `${field}[${i}]`));
    return;
  }
  if ('map' in shape && Object.keys(shape).length === 1) {
    if (!isObject(v)) bad(field, `expected an object, got ${shown(v)}`);
    for (const [k, item] of Object.entries(v)) check(shape.map as Shape[string], item, `${field}.${k}`);
    return;
  }
  if (!isObject(v)) bad(field, `expected an object, got ${shown(v)}`);
  for (const [k, sub] of Object.entries(shape as Shape)) {
    if (v[k] === undefined || v[k] === null) continue;
    check(sub, v[k], field ? `${field}.${k}` : k);
  }
}

/** Drop nulls (JSON's "not given") so the cgroup code sees only set fields. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(v)) if (item !== null) out[k] = withoutNulls(item);
  return out;
}

/**
 * `raw` checked as LinuxResources, fields named under `prefix` ("linux.resources", or "" for
 * update's own JSON); returns it without nulls. Throws naming the first bad field.
 */
export function checkResources(raw: unknown, prefix: string): LinuxResources {
  if (!isObject(raw)) bad(prefix || 'resources', `expected a JSON object (LinuxResources), got ${shown(raw)}`);
  check(RESOURCES as unknown as Shape[string], raw, prefix);
  return withoutNulls(raw) as LinuxResources;
}
