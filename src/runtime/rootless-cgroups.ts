/**
 * Cgroups for a rootless container: used where the user was delegated a cgroup
 * (it can create the container's directory and move its own processes there),
 * skipped elsewhere. What runc does, and so Carton:
 *  - device rules are never applied (writing devices.* or loading a device BPF
 *    program needs privileges a user lacks; the user cannot mknod anyway);
 *  - a controller the user cannot use is dropped;
 *  - a limit that needs a dropped controller is an error ("cannot set pids limit:
 *    container could not join or create cgroup" in runc's words), not a silent
 *    no-limit container;
 *  - an explicit linux.cgroupsPath nobody delegated is an error;
 *  - otherwise the container runs without cgroups. runc says nothing then;
 *    Carton prints one warning line so the user knows limits do not apply.
 */
import { callerProcDir } from '../common/caller';
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';
import type { LinuxResources } from '../oci/spec';
import type { CgroupView } from '../plan/inputs';
import type { CgroupManager } from './deps';
import { cgroupsFromState, openCgroups } from './deps';

const UNIFIED = 'unified';

/** The resource fields that set limits, with the v1 controller each needs. */
const LIMIT_FIELDS: { field: keyof LinuxResources; controller: string; what: string }[] = [
  { field: 'memory', controller: 'memory', what: 'memory' },
  { field: 'cpu', controller: 'cpu', what: 'cpu' },
  { field: 'pids', controller: 'pids', what: 'pids' },
  { field: 'blockIO', controller: 'blkio', what: 'blkio' },
  { field: 'hugepageLimits', controller: 'hugetlb', what: 'hugetlb' },
  { field: 'network', controller: 'net_cls', what: 'network' },
  { field: 'rdma', controller: 'rdma', what: 'rdma' },
  { field: 'unified', controller: UNIFIED, what: 'unified' },
];

function hasContent(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v as object).some(hasContent);
  return true;
}

/** The config's resources without device rules (never applied rootless). */
export function withoutDevices(r: LinuxResources | undefined): LinuxResources {
  const { devices: _devices, ...rest } = r ?? {};
  void _devices;
  return rest;
}

/**
 * Which hierarchy key of `paths` each limit in `r` needs: the v1 controller when
 * the host has it as a v1 hierarchy, else the cgroup2 one.
 */
export function neededHierarchies(r: LinuxResources | undefined, keys: readonly string[]): { field: string; what: string; key: string }[] {
  const out: { field: string; what: string; key: string }[] = [];
  for (const f of LIMIT_FIELDS) {
    if (!hasContent(r?.[f.field])) continue;
    let key = keys.includes(f.controller) ? f.controller : UNIFIED;
    // cpuset limits live in the cpu field of the spec but the cpuset controller in v1.
    if (f.field === 'cpu' && keys.includes('cpuset')) {
      const cpu = r?.cpu ?? {};
      if ((cpu.cpus || cpu.mems) && !Object.entries(cpu).some(([k, v]) => k !== 'cpus' && k !== 'mems' && hasContent(v))) key = 'cpuset';
    }
    out.push({ field: `linux.resources.${String(f.field)}`, what: f.what, key });
  }
  return out;
}

/** Host facts the decision needs; real ones by default, fakes in unit tests. */
export interface CgroupAccess {
  /** May this user create (or join) the directory `dir` of hierarchy `key`? */
  usable(key: string, dir: string): boolean;
}

export interface RootlessCgroupDecision {
  /** Hierarchies to use (key → dir). Empty: no cgroups at all. */
  paths: Record<string, string>;
  warnings: string[];
}

/** Pure: from the paths the container would get and what the user may touch, what to use. */
export function decideRootlessCgroups(
  full: Record<string, string>,
  resources: LinuxResources | undefined,
  access: CgroupAccess,
  who: { euid: number; cgroupsPath?: string },
): RootlessCgroupDecision {
  const keys = Object.keys(full);
  const paths: Record<string, string> = {};
  for (const k of keys) if (access.usable(k, full[k])) paths[k] = full[k];
  const delegated = Object.keys(paths);
  for (const need of neededHierarchies(resources, keys)) {
    if (!paths[need.key]) {
      throw new CartonError(
        'EKERNEL',
        `${need.field}: cannot set the ${need.what} limit: the container could not join or create its cgroup (rootless: uid ${who.euid} has no delegated ${need.key} cgroup at ${path.dirname(full[need.key] ?? '/sys/fs/cgroup')})`,
        { hint: 'remove the limit, or have root delegate a cgroup to this user (chown a directory and set linux.cgroupsPath below it)' },
      );
    }
  }
  if (delegated.length === 0) {
    if (who.cgroupsPath) {
      const first = full[keys[0]] ?? who.cgroupsPath;
      throw new CartonError(
        'EKERNEL',
        `linux.cgroupsPath (${who.cgroupsPath}): uid ${who.euid} cannot create ${first}: permission denied (rootless, no cgroup delegated there)`,
        { hint: 'remove linux.cgroupsPath to run without cgroups, or delegate that cgroup to this user' },
      );
    }
    return {
      paths,
      warnings: [`rootless: no cgroup is delegated to uid ${who.euid}: the container runs without cgroup limits (cgroup manager disabled)`],
    };
  }
  const dropped = keys.filter((k) => !paths[k] && k !== UNIFIED && !k.startsWith('name='));
  const warnings = dropped.length
    ? [`rootless: cgroup controllers not delegated to uid ${who.euid}, not used: ${dropped.join(', ')}`]
    : [];
  return { paths, warnings };
}

/** The nearest existing directory at or above `dir`. */
function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d) && d !== path.dirname(d)) d = path.dirname(d);
  return d;
}

function writable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * cgroup2 moves a process only with write access to cgroup.procs of the common
 * ancestor of its current and its new cgroup.
 */
function v2MoveAllowed(target: string): boolean {
  const layout = (require('../cgroups/index') as typeof import('../cgroups/index')).hostLayout();
  const h = layout.hierarchies.find((x) => x.version === 2);
  if (!h) return false;
  let rel = '/';
  try {
    // The process to move is the init, which starts in the caller's cgroup (src/common/caller.ts).
    const line = fs.readFileSync(`${callerProcDir()}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    rel = line ? line.slice(3) : '/';
  } catch {
    /* assume the root */
  }
  const inMount = rel.startsWith(h.mountRoot) ? rel.slice(h.mountRoot.length) : rel;
  const current = path.join(h.mountPoint, inMount);
  let common = target;
  while (!(current === common || current.startsWith(common + '/')) && common !== path.dirname(common)) common = path.dirname(common);
  return writable(path.join(common, 'cgroup.procs'));
}

export const hostCgroupAccess: CgroupAccess = {
  usable(key: string, dir: string): boolean {
    const at = nearestExisting(dir);
    const ok = at === dir ? writable(path.join(dir, 'cgroup.procs')) : writable(at);
    if (!ok) return false;
    return key === UNIFIED ? v2MoveAllowed(dir) : true;
  },
};

/**
 * A manager for no cgroups at all: the container runs in the user's own. Without a
 * cgroup to list, the container's processes are those in its init's pid namespace.
 */
class NoCgroups implements CgroupManager {
  constructor(private readonly initPid = 0) {}
  readonly paths: Record<string, string> = {};
  readonly created: string[] = [];
  readonly notes: CgroupManager['notes'] = [];
  create(): void {}
  addProcess(): void {}
  update(): void {
    throw new CartonError('EUNSUPPORTED', 'update: this rootless container has no cgroup (none was delegated to the user)');
  }
  freeze(): void {
    throw new CartonError('EUNSUPPORTED', 'pause: this rootless container has no cgroup (none was delegated to the user)');
  }
  thaw(): void {
    throw new CartonError('EUNSUPPORTED', 'resume: this rootless container has no cgroup (none was delegated to the user)');
  }
  freezerState(): 'THAWED' {
    return 'THAWED';
  }
  pids(): number[] {
    return this.initPid > 0 ? pidsInNamespaceOf(this.initPid) : [];
  }
  stats(): ReturnType<CgroupManager['stats']> {
    throw new CartonError('EUNSUPPORTED', 'stats: this rootless container has no cgroup (none was delegated to the user)');
  }
  oomKilled(): boolean {
    return false;
  }
  destroy(): void {}
  view(): CgroupView {
    const cg = require('../cgroups/index') as typeof import('../cgroups/index');
    return cg.cgroupView(cg.hostLayout(), {});
  }
}

/**
 * Every process in the pid namespace of `pid` (just `pid` when it shares ours):
 * those whose ns/pid link says so, and, as that link is unreadable for processes
 * of other (mapped) uids, the descendants of `pid` (orphans in the namespace are
 * re-parented to its init, so they are among them).
 */
export function pidsInNamespaceOf(pid: number): number[] {
  let ns: string;
  try {
    ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return [];
  }
  if (ns === fs.readlinkSync('/proc/self/ns/pid')) return [pid];
  const found = new Set<number>([pid]);
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = Number(name);
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/pid`) === ns) found.add(p);
    } catch {
      /* gone, or not ours to look at: the parent walk below may still find it */
    }
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(p);
    } catch {
      /* gone */
    }
  }
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.pop()!) ?? []) {
      if (!found.has(c)) queue.push(c);
      found.add(c);
    }
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The manager of an existing container from its state: a container created without
 * cgroups (rootless, none delegated) gets one that says so instead of "no freezer".
 */
export function cgroupsForRecord(record: { cgroupPaths: Record<string, string>; cgroupCreated?: string[]; pid: number }): CgroupManager {
  if (Object.keys(record.cgroupPaths ?? {}).length === 0) return new NoCgroups(record.pid);
  return cgroupsFromState(record.cgroupPaths, record.cgroupCreated ?? []);
}

export interface ContainerCgroupsOptions {
  id: string;
  cgroupsPath?: string;
  systemd: boolean;
  /** The config's resources, device rules included (the root manager applies them). */
  resources: LinuxResources;
  rootless: boolean;
  warn?: (msg: string) => void;
  euid?: number;
  access?: CgroupAccess;
}

/** The container's cgroup manager: the usual one as root, the delegated part (or none) rootless. */
export function openContainerCgroups(o: ContainerCgroupsOptions): CgroupManager {
  if (!o.rootless) return openCgroups({ id: o.id, cgroupsPath: o.cgroupsPath, systemd: o.systemd, resources: o.resources });
  const limits = withoutDevices(o.resources);
  const full = openCgroups({ id: o.id, cgroupsPath: o.cgroupsPath, systemd: o.systemd, resources: limits }).paths;
  const euid = o.euid ?? process.geteuid?.() ?? 0;
  const d = decideRootlessCgroups(full, limits, o.access ?? hostCgroupAccess, { euid, cgroupsPath: o.cgroupsPath });
  for (const w of d.warnings) o.warn?.(w);
  if (Object.keys(d.paths).length === 0) return new NoCgroups();
  return new DelegatedCgroups(cgroupsFromState(d.paths, []), hasContent(limits) ? limits : undefined);
}

/**
 * The user's delegated part. cgroupsFromState makes a manager without resources,
 * so the limits are applied right after its directories exist.
 */
class DelegatedCgroups implements CgroupManager {
  constructor(private readonly inner: CgroupManager, private readonly limits: LinuxResources | undefined) {}
  get paths(): Record<string, string> { return this.inner.paths; }
  get created(): string[] { return this.inner.created; }
  get notes(): CgroupManager['notes'] { return this.inner.notes; }
  create(): void {
    this.inner.create();
    if (!this.limits) return;
    try {
      this.inner.update(this.limits);
    } catch (err) {
      this.inner.destroy();
      throw err;
    }
  }
  addProcess(pid: number): void { this.inner.addProcess(pid); }
  update(r: LinuxResources): void { this.inner.update(withoutDevices(r)); }
  freeze(): void { this.inner.freeze(); }
  thaw(): void { this.inner.thaw(); }
  freezerState(): ReturnType<CgroupManager['freezerState']> { return this.inner.freezerState(); }
  pids(): number[] { return this.inner.pids(); }
  stats(): ReturnType<CgroupManager['stats']> { return this.inner.stats(); }
  oomKilled(): boolean { return this.inner.oomKilled(); }
  destroy(): void { this.inner.destroy(); }
  view(): CgroupView { return this.inner.view(); }
}
