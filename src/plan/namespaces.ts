/**
 * Namespace ops: which namespaces to join (SETNS by path) and which to
 * create (UNSHARE), in an order that works for both create and exec.
 */
import { CartonError } from '../common/errors';
import type { LinuxNamespace, NamespaceType, Spec } from '../oci/spec';
import { CLONE, Op, OpCode } from './ops';

export const NAMESPACE_CLONE_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** Names under /proc/<pid>/ns/. */
export const NAMESPACE_PROC_NAME: Record<NamespaceType, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

/**
 * Join order. The user namespace comes first: joining it grants the
 * capabilities needed to join the namespaces it owns. The mount namespace
 * comes last: once joined, /proc (and any other path) resolves in the
 * container's mount tree, so later /proc/<pid>/ns paths would name the
 * wrong process or nothing at all.
 */
export const JOIN_ORDER: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export interface NamespaceInfo {
  /** Types present in the config, created or joined. */
  has(type: NamespaceType): boolean;
  /** Created by this container (no path). */
  creates(type: NamespaceType): boolean;
  /** Joined by path. */
  joinPath(type: NamespaceType): string | undefined;
  /** Config index of a type, for op sources. */
  index(type: NamespaceType): number;
}

export function namespaceInfo(spec: Spec): NamespaceInfo {
  const list: LinuxNamespace[] = spec.linux?.namespaces ?? [];
  const find = (t: NamespaceType) => list.findIndex((ns) => ns.type === t);
  return {
    has: (t) => find(t) >= 0,
    creates: (t) => find(t) >= 0 && !list[find(t)].path,
    joinPath: (t) => (find(t) >= 0 ? list[find(t)].path || undefined : undefined),
    index: find,
  };
}

/** "linux.namespaces[1] (network)" */
function nsSource(ns: NamespaceInfo, t: NamespaceType): string {
  return `linux.namespaces[${ns.index(t)}] (${t})`;
}

/**
 * A new cgroup namespace is rooted at the cgroups its creator is in. When FORK puts the
 * container's process into its cgroup2 directory (CLONE_INTO_CGROUP), that process
 * creates the namespace itself, right after FORK (`deferCgroupNs`).
 */
export function deferredCgroupNsOps(ns: NamespaceInfo): Op[] {
  return ns.creates('cgroup') ? [{ op: OpCode.UNSHARE, flags: CLONE.NEWCGROUP, source: nsSource(ns, 'cgroup') }] : [];
}

/**
 * Create: join the namespaces given by path, then create the user namespace
 * (the host writes its maps at the 'userns-maps' SYNC; then the init becomes
 * root in it), then create all others at once, then the time offsets, which
 * must be written before any process lives in the new time namespace.
 */
export function createNamespaceOps(spec: Spec, ns: NamespaceInfo, opts: { deferCgroupNs?: boolean } = {}): Op[] {
  const ops: Op[] = [];
  if (!ns.creates('mount')) {
    throw new CartonError(
      'EUNSUPPORTED',
      ns.has('mount')
        ? `${nsSource(ns, 'mount')}: joining an existing mount namespace at create is not supported by carton-runtime`
        : 'linux.namespaces: a new mount namespace is required (add {"type": "mount"})',
    );
  }
  for (const t of JOIN_ORDER) {
    const path = ns.joinPath(t);
    if (!path) continue;
    ops.push({ op: OpCode.SETNS, nstype: NAMESPACE_CLONE_FLAG[t], path, source: nsSource(ns, t) });
    // Like a created one, a joined user namespace is entered as its root, so
    // that what the init creates belongs to root there (runc does the same).
    if (t === 'user') ops.push({ op: OpCode.SET_USER, uid: 0, gid: 0, setGroups: false, groups: [], source: nsSource(ns, t) });
  }
  if (ns.creates('user')) {
    const source = nsSource(ns, 'user');
    ops.push({ op: OpCode.UNSHARE, flags: CLONE.NEWUSER, source });
    // The init starts non-dumpable, which makes its /proc files root's: an
    // unprivileged runtime (or newuidmap acting for it) could not write the maps.
    // Dumpable only while the maps are written, before any container process exists.
    ops.push({ op: OpCode.SET_DUMPABLE, dumpable: true, source });
    ops.push({ op: OpCode.SYNC, tag: 'userns-maps', source: 'linux.uidMappings' });
    ops.push({ op: OpCode.SET_DUMPABLE, dumpable: false, source });
    ops.push({ op: OpCode.SET_USER, uid: 0, gid: 0, setGroups: false, groups: [], source });
  }
  let flags = 0;
  for (const t of JOIN_ORDER) {
    if (t === 'user' || (t === 'cgroup' && opts.deferCgroupNs)) continue;
    if (ns.creates(t)) flags |= NAMESPACE_CLONE_FLAG[t];
  }
  if (flags) ops.push({ op: OpCode.UNSHARE, flags, source: 'linux.namespaces' });
  const offsets = spec.linux?.timeOffsets;
  if (ns.creates('time') && offsets && Object.keys(offsets).length > 0) {
    const content = Object.entries(offsets)
      .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`)
      .join('');
    ops.push({ op: OpCode.TIMENS_OFFSETS, content, source: 'linux.timeOffsets' });
  }
  return ops;
}

/**
 * Exec: join every namespace type the container has through its init's
 * /proc/<pid>/ns links, in JOIN_ORDER (user first, mount last). Types in `afterFork`
 * are joined by the forked process instead (cgroup and mount when FORK creates it in
 * the container's cgroup2 directory: the kernel refuses that from inside the
 * container's cgroup namespace, and the host's /proc must still be reachable).
 */
export function execNamespaceOps(containerPid: number, types: readonly string[], afterFork: readonly string[] = []): { beforeFork: Op[]; afterFork: Op[] } {
  const ops = { beforeFork: [] as Op[], afterFork: [] as Op[] };
  for (const t of JOIN_ORDER) {
    if (!types.includes(t)) continue;
    (afterFork.includes(t) ? ops.afterFork : ops.beforeFork).push({
      op: OpCode.SETNS,
      nstype: NAMESPACE_CLONE_FLAG[t],
      path: `/proc/${containerPid}/ns/${NAMESPACE_PROC_NAME[t]}`,
      source: `namespace ${t} of container pid ${containerPid}`,
    });
  }
  return ops;
}
