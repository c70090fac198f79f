/**
 * Which cgroup hierarchies this process can see, and where it sits in each.
 * Decided at run time from /proc/self/mountinfo and /proc/self/cgroup (never from
 * hard-coded paths): a host can be v1, pure v2, or hybrid (v1 controllers plus a
 * cgroup2 mount, usually at /sys/fs/cgroup/unified).
 *
 * The parsing is pure (text in, layout out) so every layout is unit-tested without
 * a kernel; `hostLayout()` reads the two files once per process and caches.
 */
import { callerProcDir } from '../common/caller';
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';

export type CgroupKind = 'v1' | 'v2' | 'hybrid';

/** One mounted cgroup hierarchy. */
export interface Hierarchy {
  version: 1 | 2;
  /**
   * Controllers bound to it. v1: from the mount's super options ("cpu", "cpuacct",
   * "name=systemd"); v2: empty here (cgroup.controllers is read when needed).
   */
  controllers: string[];
  /** Where it is mounted, e.g. /sys/fs/cgroup/cpu,cpuacct. */
  mountPoint: string;
  /** The mount's root inside the hierarchy (not "/" inside a cgroup namespace or bind). */
  mountRoot: string;
  /** This process's cgroup in the hierarchy, as /proc/self/cgroup tells it. */
  ownPath: string;
}

export interface CgroupLayout {
  kind: CgroupKind;
  /** v1 hierarchies first (mount order), then the cgroup2 one if mounted. */
  hierarchies: Hierarchy[];
}

/** The key a hierarchy has in CgroupManager.paths: "unified" for cgroup2. */
export const UNIFIED = 'unified';

/** Decode mountinfo's octal escapes (\040 for space, \011 tab, \012 newline, \134 backslash). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

interface CgroupMount {
  fsType: 'cgroup' | 'cgroup2';
  device: string;
  mountRoot: string;
  mountPoint: string;
  superOptions: string[];
}

function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    if (!line.includes(' cgroup')) continue; // cheap filter: most lines are not cgroups
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    if (left.length < 5) continue;
    out.push({
      fsType,
      device: left[2],
      mountRoot: unescapeMountField(left[3]),
      mountPoint: unescapeMountField(left[4]),
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/** Super options of a v1 cgroup mount that are not controllers. */
const NON_CONTROLLER_OPTIONS = new Set([
  'rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'nsdelegate', 'memory_localevents',
  'memory_recursiveprot', 'favordynmods', 'cpuset_v2_mode',
]);

function v1Controllers(superOptions: string[]): string[] {
  return superOptions.filter((o) => o !== '' && !NON_CONTROLLER_OPTIONS.has(o) && !o.startsWith('release_agent='));
}

/** /proc/self/cgroup: "id:controllers:path" per line → controller set key → path. */
function parseProcCgroup(text: string): { v1: { controllers: string[]; path: string }[]; v2?: string } {
  const v1: { controllers: string[]; path: string }[] = [];
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') v2 = p;
    else v1.push({ controllers: controllers.split(','), path: p });
  }
  return { v1, v2 };
}

/** Build the layout from the text of /proc/self/mountinfo and /proc/self/cgroup. */
export function parseCgroupLayout(mountinfo: string, procSelfCgroup: string): CgroupLayout {
  const own = parseProcCgroup(procSelfCgroup);
  const seen = new Set<string>();
  const v1: Hierarchy[] = [];
  let v2: Hierarchy | undefined;
  for (const m of parseCgroupMounts(mountinfo)) {
    // The same hierarchy can be mounted more than once (bind mounts): keep the first.
    if (seen.has(m.device)) continue;
    seen.add(m.device);
    if (m.fsType === 'cgroup2') {
      if (own.v2 === undefined) continue; // not our cgroup namespace's hierarchy
      v2 = { version: 2, controllers: [], mountPoint: m.mountPoint, mountRoot: m.mountRoot, ownPath: own.v2 };
      continue;
    }
    const controllers = v1Controllers(m.superOptions);
    if (controllers.length === 0) continue;
    const mine = own.v1.find((e) => controllers.every((c) => e.controllers.includes(c)));
    if (!mine) continue;
    v1.push({ version: 1, controllers, mountPoint: m.mountPoint, mountRoot: m.mountRoot, ownPath: mine.path });
  }
  const hasV1Controllers = v1.some((h) => h.controllers.some((c) => !c.startsWith('name=')));
  const hierarchies = v2 ? [...v1, v2] : v1;
  if (hierarchies.length === 0) {
    throw new CartonError('EUNSUPPORTED', 'cgroups: no cgroup hierarchy is mounted', {
      hint: 'mount cgroup2 on /sys/fs/cgroup',
    });
  }
  const kind: CgroupKind = !hasV1Controllers ? 'v2' : v2 ? 'hybrid' : 'v1';
  // On a v2 host a leftover named v1 hierarchy (name=systemd) plays no role.
  return { kind, hierarchies: kind === 'v2' ? [v2 as Hierarchy] : hierarchies };
}

/** The key of a hierarchy in CgroupManager.paths for one controller. */
export function hierarchyKeys(h: Hierarchy): string[] {
  return h.version === 2 ? [UNIFIED] : h.controllers;
}

/** This process's own cgroup directory in a hierarchy (host path): its caller's, in a prestarted worker. */
export function ownCgroupDir(h: Hierarchy): string {
  const rel = h.ownPath.startsWith(h.mountRoot) ? h.ownPath.slice(h.mountRoot.length) : h.ownPath;
  return path.join(h.mountPoint, rel);
}

let cached: CgroupLayout | undefined;

/** The layout of this host as this process sees it (read once per process). */
export function hostLayout(): CgroupLayout {
  if (!cached) {
    cached = parseCgroupLayout(
      fs.readFileSync('/proc/self/mountinfo', 'utf8'),
      // A prestarted worker's cgroups are not its caller's (src/common/caller.ts).
      fs.readFileSync(`${callerProcDir()}/cgroup`, 'utf8'),
    );
  }
  return cached;
}

/** For tests: forget the cached layout. */
export function resetHostLayoutCache(): void {
  cached = undefined;
}
