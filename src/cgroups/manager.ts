/**
 * The doing part: create the container's cgroups, apply a resource plan, add
 * processes, freeze, read stats, destroy. Synchronous on purpose (fs.*Sync): it sits
 * on the start-up path of `carton-runtime run`, where every await costs latency.
 *
 * `paths` maps a v1 controller ("memory", "name=systemd") or "unified" to the
 * container's directory in that hierarchy; it is persisted in the container state so a
 * later process (kill, pause, delete) rebuilds the manager with cgroupsFromState().
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import type { LinuxResources } from '../oci/spec';
import { errnoCode, pidsRecursive, readCgroupFile, readNumber, removeTree, rmdirIfEmpty, sleepSync, tryRead, writeCgroupFile } from './cgfs';
import { hierarchyKeys, hostLayout, ownCgroupDir, UNIFIED } from './detect';
import { applyPlan, controllerPlacement, enableV2Controllers, loadDeviceProgram } from './apply';
import { resolveCgroupPaths } from './path';
import { planResources } from './resources';
import { deviceTransition, emulateRules, parseDevicesList, ruleLine } from './devices';
import { CgroupStats, readStats } from './stats';
import type { ResourceNote } from './writes';
import type { CgroupJoin, CgroupView } from '../plan/inputs';
import { cgroupView } from './view';

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export interface CgroupManager {
  /** Hierarchy key → absolute host dir; persist it in the container state. */
  readonly paths: Record<string, string>;
  /** Dirs this manager created (outermost first); persist them too so destroy() removes them. */
  readonly created: string[];
  /** Fields accepted but not applied, for the runtime to log as warnings. */
  readonly notes: ResourceNote[];
  create(): void;
  addProcess(pid: number): void;
  /**
   * Where the init joins by itself, without the global cgroup lock (src/plan/cgroup-join.ts).
   * Absent where joining must go through addProcess (rootless managers).
   */
  joinPlan?(): CgroupJoin;
  update(resources: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  freezerState(): FreezerState;
  pids(): number[];
  stats(): CgroupStats;
  oomKilled(): boolean;
  destroy(): void;
  /** What /sys/fs/cgroup shows inside the container, for the planner. */
  view(): CgroupView;
}

export interface OpenCgroupsOptions {
  id: string;
  cgroupsPath?: string;
  systemd?: boolean;
  resources?: LinuxResources;
}

/** A manager for a container about to be created (nothing is touched until create()). */
export function openCgroups(opts: OpenCgroupsOptions): CgroupManager {
  const layout = hostLayout();
  const paths = resolveCgroupPaths(layout, {
    id: opts.id,
    cgroupsPath: opts.cgroupsPath,
    systemd: opts.systemd,
    systemdRunning: opts.systemd ? fs.existsSync('/run/systemd/system') : false,
  });
  return new Manager(paths, [], opts.resources);
}

/** A manager for an existing container, from the paths (and created dirs) in its state. */
export function cgroupsFromState(paths: Record<string, string>, created: string[] = []): CgroupManager {
  return new Manager({ ...paths }, [...created]);
}

const FREEZE_TIMEOUT_MS = 5000;
const DESTROY_TIMEOUT_MS = 3000;

class Manager implements CgroupManager {
  readonly notes: ResourceNote[] = [];

  constructor(readonly paths: Record<string, string>, readonly created: string[], private readonly resources?: LinuxResources) {}

  /** Each directory once, in the order of paths. */
  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  private isPureV2(): boolean {
    return Object.keys(this.paths).every((k) => k === UNIFIED || k.startsWith('name='));
  }

  private locate = (controller: string): { dir: string; version: 1 | 2 } | undefined => {
    if (this.paths[controller]) return { dir: this.paths[controller], version: 1 };
    if (this.paths[UNIFIED]) return { dir: this.paths[UNIFIED], version: 2 };
    return undefined;
  };

  create(): void {
    const placement = controllerPlacement(this.paths);
    const plan = planResources(this.resources, placement); // bad input fails before any mkdir
    this.notes.push(...plan.notes);
    try {
      for (const [key, dir] of Object.entries(this.paths)) {
        this.mkdirs(dir);
        if (key === 'cpuset') this.inheritCpuset(dir);
      }
      if (this.paths[UNIFIED]) {
        enableV2Controllers(this.paths[UNIFIED], plan, this.isPureV2());
        checkDomain(this.paths[UNIFIED]);
      }
      applyPlan(this.paths, plan);
      if (plan.devices) loadDeviceProgram(this.paths[UNIFIED], plan.devices);
    } catch (err) {
      this.removeCreated();
      throw err;
    }
  }

  /** mkdir -p, remembering which levels did not exist before. */
  private mkdirs(dir: string): void {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      try {
        fs.mkdirSync(d);
        this.created.push(d);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') continue;
        throw new CartonError('EKERNEL', `linux.cgroupsPath: mkdir ${d}: ${nodeErrorReason(err)}`, { cause: err });
      }
    }
  }

  /**
   * A new v1 cpuset cgroup starts with empty cpus and mems, and no process can join
   * it until both are set: copy them down from the parent into every level we made.
   */
  private inheritCpuset(dir: string): void {
    const levels = this.created.filter((d) => d === dir || dir.startsWith(d + '/'));
    for (const d of levels) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if ((tryRead(d, file) ?? '').trim() !== '') continue;
        const parent = (tryRead(path.dirname(d), file) ?? '').trim();
        try {
          writeCgroupFile(d, file, parent);
        } catch (err) {
          throw new CartonError('EKERNEL', `linux.cgroupsPath: copy ${file} into ${d}: ${nodeErrorReason(err)}`, { cause: err });
        }
      }
    }
  }

  private removeCreated(): void {
    for (const d of [...this.created].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        // Someone else's cgroup may have appeared inside it; leave it.
      }
    }
    this.created.length = 0;
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs()) {
      try {
        writeCgroupFile(dir, 'cgroup.procs', String(pid));
      } catch (err) {
        throw new CartonError('EKERNEL', `cgroup: add process ${pid} to ${dir}: ${nodeErrorReason(err)}`, {
          cause: err,
          hint: joinHint(errnoCode(err)),
        });
      }
    }
  }

  joinPlan(): CgroupJoin {
    const v1Dirs = [...new Set(Object.entries(this.paths).filter(([k]) => k !== UNIFIED).map(([, d]) => d))];
    // Where a waiting init goes back to: this process's own cgroup in the same hierarchies.
    const ownV1Dirs = hostLayout().hierarchies
      .filter((h) => h.version === 1 && hierarchyKeys(h).some((key) => key in this.paths))
      .map(ownCgroupDir);
    return { v1Dirs, v2Dir: this.paths[UNIFIED], ownV1Dirs };
  }

  update(resources: LinuxResources): void {
    const mem = this.paths.memory;
    const current = mem ? readNumber(mem, 'memory.limit_in_bytes') : undefined;
    const plan = planResources(resources, controllerPlacement(this.paths), { currentMemoryLimit: current });
    this.notes.push(...plan.notes);
    if (resources.memory?.checkBeforeUpdate && this.paths[UNIFIED] && !mem) checkMemoryUsage(this.paths[UNIFIED], resources);
    if (resources.devices && this.paths.devices) {
      // Move the running container's device list by differences, not through "deny all".
      const current = parseDevicesList(tryRead(this.paths.devices, 'devices.list') ?? '');
      const steps = deviceTransition(current, emulateRules(resources.devices));
      plan.writes = plan.writes.filter((w) => w.hierarchy !== 'devices').concat(steps.map((r) => ({
        hierarchy: 'devices', file: r.allow ? 'devices.allow' : 'devices.deny', value: ruleLine(r), field: 'linux.resources.devices',
      })));
    }
    if (this.paths[UNIFIED]) enableV2Controllers(this.paths[UNIFIED], plan, this.isPureV2());
    applyPlan(this.paths, plan);
    if (plan.devices) loadDeviceProgram(this.paths[UNIFIED], plan.devices);
  }

  private freezerDir(): { dir: string; version: 1 | 2 } {
    if (this.paths.freezer) return { dir: this.paths.freezer, version: 1 };
    if (this.paths[UNIFIED] && this.isPureV2()) return { dir: this.paths[UNIFIED], version: 2 };
    throw new CartonError('EUNSUPPORTED', 'cgroup: no freezer on this host (no v1 freezer hierarchy, no cgroup v2)');
  }

  freeze(): void {
    const f = this.freezerDir();
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    const write = (value: string): void => {
      try {
        writeCgroupFile(f.dir, f.version === 1 ? 'freezer.state' : 'cgroup.freeze', value);
      } catch (err) {
        throw new CartonError('EKERNEL', `cgroup: freeze ${f.dir}: ${nodeErrorReason(err)}`, { cause: err });
      }
    };
    write(f.version === 1 ? 'FROZEN' : '1');
    for (let i = 0; this.freezerState() !== 'FROZEN'; i++) {
      if (Date.now() > deadline) {
        this.thaw();
        throw new CartonError('EKERNEL', `cgroup: freeze ${f.dir}: processes did not stop within ${FREEZE_TIMEOUT_MS} ms`);
      }
      // v1 can stay FREEZING while a task sleeps uninterruptibly; asking again helps.
      if (f.version === 1 && i % 10 === 9) write('FROZEN');
      sleepSync(i < 10 ? 1 : 10);
    }
  }

  thaw(): void {
    const f = this.freezerDir();
    try {
      writeCgroupFile(f.dir, f.version === 1 ? 'freezer.state' : 'cgroup.freeze', f.version === 1 ? 'THAWED' : '0');
    } catch (err) {
      throw new CartonError('EKERNEL', `cgroup: thaw ${f.dir}: ${nodeErrorReason(err)}`, { cause: err });
    }
  }

  freezerState(): FreezerState {
    const f = this.freezerDir();
    if (f.version === 1) {
      const s = (tryRead(f.dir, 'freezer.state') ?? 'THAWED').trim();
      return s === 'FROZEN' || s === 'FREEZING' ? s : 'THAWED';
    }
    if ((tryRead(f.dir, 'cgroup.freeze') ?? '0').trim() !== '1') return 'THAWED';
    return /^frozen 1$/m.test(tryRead(f.dir, 'cgroup.events') ?? '') ? 'FROZEN' : 'FREEZING';
  }

  /** The dir whose cgroup.procs lists the container's processes. */
  private procsDir(): string | undefined {
    if (this.isPureV2()) return this.paths[UNIFIED];
    for (const k of ['freezer', 'pids', 'memory', 'devices', 'cpu']) if (this.paths[k]) return this.paths[k];
    return this.dirs()[0];
  }

  pids(): number[] {
    const dir = this.procsDir();
    return dir ? pidsRecursive(dir) : [];
  }

  view(): CgroupView {
    return cgroupView(hostLayout(), this.paths);
  }

  stats(): CgroupStats {
    return readStats(this.locate);
  }

  oomKilled(): boolean {
    const m = this.locate('memory');
    if (!m) return false;
    const text = tryRead(m.dir, m.version === 1 ? 'memory.oom_control' : 'memory.events') ?? '';
    const oomKill = Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
    return oomKill > 0 || /^under_oom 1$/m.test(text);
  }

  destroy(): void {
    // Usually every process is gone already (run, delete of a stopped container): then a
    // plain rmdir takes each directory. The kernel refuses it while processes or child
    // cgroups remain, and only then are they killed and the trees walked.
    const remaining = this.dirs().filter((dir) => !rmdirIfEmpty(dir));
    const errors: string[] = [];
    if (remaining.length > 0) {
      this.killAll();
      for (const dir of remaining) {
        const err = removeTree(dir);
        if (err) errors.push(err);
      }
    }
    // Then the levels we created above the leaves, deepest first, if nothing else lives there.
    const leaves = new Set(this.dirs());
    for (const d of [...this.created].reverse().filter((c) => !leaves.has(c))) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty (another container) or already gone
      }
    }
    this.created.length = 0;
    if (errors.length > 0) throw new CartonError('EKERNEL', `cgroup: remove ${errors.join('; ')}`);
  }

  private killAll(): void {
    let frozen = false;
    try {
      frozen = this.freezerState() !== 'THAWED';
    } catch {
      frozen = false;
    }
    // v1 frozen tasks do not die until thawed.
    if (frozen) this.thaw();
    if (this.isPureV2()) {
      // cgroup.kill (5.14+) kills the whole subtree at once, forks in flight included.
      try {
        writeCgroupFile(this.paths[UNIFIED], 'cgroup.kill', '1');
      } catch {
        // older kernel or already gone: the loop below does it by pid
      }
    }
    const deadline = Date.now() + DESTROY_TIMEOUT_MS;
    for (let i = 0; ; i++) {
      const pids = this.pids();
      if (pids.length === 0) return;
      if (Date.now() > deadline) {
        throw new CartonError('EKERNEL', `cgroup: processes ${pids.join(', ')} survived SIGKILL`);
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sleepSync(i < 10 ? 2 : 20);
    }
  }
}

function joinHint(code: string | undefined): string | undefined {
  if (code === 'ENOSPC') return 'a v1 cpuset cgroup on the way has empty cpuset.cpus or cpuset.mems';
  if (code === 'EBUSY') return 'cgroup v2 allows no processes in a cgroup with controllers enabled in its cgroup.subtree_control';
  if (code === 'EOPNOTSUPP') return 'the cgroup v2 directory is "domain invalid" (a parent holds processes)';
  return undefined;
}

/**
 * A v2 cgroup under a parent that holds processes while it has controllers enabled is
 * "domain invalid": no process can join it. Say so now rather than EOPNOTSUPP later.
 */
function checkDomain(dir: string): void {
  const type = (tryRead(dir, 'cgroup.type') ?? '').trim();
  if (type === 'domain invalid') {
    throw new CartonError('EKERNEL', `linux.cgroupsPath: ${dir} cannot hold processes (cgroup.type is "domain invalid")`, {
      hint: 'a parent cgroup holds processes and has controllers enabled; choose a path under a cgroup without processes',
    });
  }
}

/** memory.checkBeforeUpdate: refuse limits at or below what the container already uses (v2). */
function checkMemoryUsage(dir: string, resources: LinuxResources): void {
  const usage = readNumber(dir, 'memory.current');
  if (usage === undefined) return; // best effort, as runc
  for (const [field, value] of [['swap', resources.memory?.swap], ['limit', resources.memory?.limit]] as const) {
    if (value !== undefined && value > 0 && value <= usage) {
      throw new CartonError('EINVAL_CONFIG', `linux.resources.memory.${field}: ${value} is not above the current usage ${usage}`);
    }
  }
}

export { readCgroupFile };
