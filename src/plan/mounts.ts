/**
 * config.json mounts → MOUNT / MOUNT_SETATTR / SYMLINK ops, in config order,
 * all targets "in root". The "cgroup" type is expanded from the host's cgroup
 * view. Read-only flags that would stop later set-up inside the same mount
 * (a read-only tmpfs or /dev) are applied after PIVOT_ROOT, as runc does.
 */
import * as path from 'node:path';
import { CartonError } from '../common/errors';
import type { Mount, Spec } from '../oci/spec';
import type { BindSourceKind, CgroupView, PlanContext, PlanExtras } from './inputs';
import { MountTargetKind, MOUNT_ATTR, MS, Op, OpCode } from './ops';
import { msToMountAttr, parseMountOptions, type ParsedMountOptions } from './mount-options';
import type { NamespaceInfo } from './namespaces';

export interface MountPlan {
  /** Ops to run before PIVOT_ROOT (targets resolve under SET_ROOT). */
  beforePivot: Op[];
  /** Ops to run after PIVOT_ROOT: delayed read-only remounts. */
  afterPivot: Op[];
  /** Options accepted but ignored ("mounts[4]: tmpcopyup"), for a warning. */
  warnings: string[];
}

/** A clean absolute container path ("/dev/shm/" → "/dev/shm"). */
export function cleanDestination(dest: string): string {
  return path.posix.normalize('/' + dest).replace(/\/+$/, '') || '/';
}

export function mountSource(m: Mount, i: number): string {
  return `mounts[${i}] (${m.destination})`;
}

export function isBindMount(m: Mount, opts: ParsedMountOptions = parseMountOptions(m.options)): boolean {
  return m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
}

function lookupKind(extras: PlanExtras, hostPath: string): BindSourceKind {
  const k = extras.bindSourceKinds;
  if (typeof k === 'function') return k(hostPath);
  if (k && Object.prototype.hasOwnProperty.call(k, hostPath)) return k[hostPath];
  // Unknown: assume a directory, the common case; the init reports a real mismatch.
  return 'dir';
}

export function planMounts(spec: Spec, ctx: PlanContext, extras: PlanExtras, ns: NamespaceInfo): MountPlan {
  const plan: MountPlan = { beforePivot: [], afterPivot: [], warnings: [] };
  (spec.mounts ?? []).forEach((m, i) => planOneMount(plan, m, i, ctx, extras, ns));
  return plan;
}

function planOneMount(plan: MountPlan, m: Mount, i: number, ctx: PlanContext, extras: PlanExtras, ns: NamespaceInfo): void {
  const source = mountSource(m, i);
  const dest = cleanDestination(m.destination);
  const opts = parseMountOptions(m.options);
  if (opts.unsupported.length > 0) {
    throw new CartonError('EUNSUPPORTED', `${source}: mount option ${JSON.stringify(opts.unsupported[0])} is not supported by carton-runtime`);
  }
  for (const o of opts.ignored) plan.warnings.push(`${source}: option ${JSON.stringify(o)} is ignored`);
  checkProcDestination(m, dest, opts, source);
  const ops = plan.beforePivot;

  const hostBind = hostBindInsteadOf(m, ns);
  if (hostBind) {
    // The kernel refuses this fs to a new user namespace that does not own the
    // matching namespace; the host's instance is bound in instead (runc, crun).
    plan.warnings.push(`${source}: ${m.type} cannot be mounted from this user namespace; ${hostBind} is bound from the host`);
    ops.push({
      op: OpCode.MOUNT, source, device: hostBind, target: dest, targetKind: MountTargetKind.IN_ROOT_CREATE_DIR,
      fstype: '', flags: opts.flags | MS.BIND | MS.REC, data: '',
    });
  } else if (m.type === 'cgroup') {
    planCgroupMount(plan, dest, opts, source, ctx.cgroupView, ns);
  } else if (isBindMount(m, opts)) {
    const hostSource = path.resolve(ctx.bundle, m.source ?? '');
    if (!m.source) throw new CartonError('EINVAL_CONFIG', `${source}: a bind mount needs a source`);
    const kind = lookupKind(extras, hostSource);
    if (kind === 'missing') {
      throw new CartonError('ENOTFOUND', `${source}: bind source ${JSON.stringify(hostSource)}: no such file or directory`);
    }
    ops.push({
      op: OpCode.MOUNT,
      source,
      device: hostSource,
      target: dest,
      targetKind: kind === 'file' ? MountTargetKind.IN_ROOT_CREATE_FILE : MountTargetKind.IN_ROOT_CREATE_DIR,
      fstype: '',
      // The init remounts a bind whose flags hold ro/nosuid/… (mount(2) ignores them on MS_BIND).
      flags: opts.flags | MS.BIND,
      data: '',
    });
    // An explicit "rw"/"suid"/"dev"/"exec" must clear what the source mount has.
    const cleared = msToMountAttr(opts.cleared & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NODIRATIME | MS.NOSYMFOLLOW));
    if (cleared.set) ops.push(setattr(dest, 0, cleared.set, false, source));
  } else {
    let flags = opts.flags;
    // A read-only tmpfs or /dev is filled first (devices, nested mount points) and made read-only after pivot_root.
    if ((m.type === 'tmpfs' || dest === '/dev') && flags & MS.RDONLY && !(flags & MS.REMOUNT)) {
      flags &= ~MS.RDONLY;
      plan.afterPivot.push(setattr(dest, MOUNT_ATTR.RDONLY, 0, false, source));
    }
    ops.push({
      op: OpCode.MOUNT,
      source,
      device: m.source ?? m.type ?? '',
      target: dest,
      targetKind: flags & MS.REMOUNT ? MountTargetKind.IN_ROOT : MountTargetKind.IN_ROOT_CREATE_DIR,
      fstype: m.type ?? '',
      flags,
      data: opts.data,
    });
  }
  for (const p of opts.propagation) ops.push(propagate(dest, p, source));
  if (opts.recursiveAttr) {
    ops.push(setattr(dest, opts.recursiveAttr.set, opts.recursiveAttr.clear, true, source));
  }
}

/**
 * sysfs needs CAP_SYS_ADMIN over the owner of the network namespace: a user
 * namespace created for this container does not own it unless the config
 * creates the network namespace too. crun (and recent runc) bind the host's
 * /sys then. (mqueue has the same rule for ipc, but hosts may lack
 * /dev/mqueue, so it keeps failing loudly as in runc.)
 */
function hostBindInsteadOf(m: Mount, ns: NamespaceInfo): string | undefined {
  if (m.type === 'sysfs' && ns.creates('user') && !ns.creates('network')) return '/sys';
  return undefined;
}

/**
 * Files under /proc that may be covered by a bind mount (lxcfs and similar
 * provide container-aware versions). Anything else inside /proc could hide
 * the masked and read-only paths that protect the host, so it is refused.
 */
const PROC_BIND_ALLOWED = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime',
  '/proc/loadavg', '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid', '/proc/sys/crypto/fips_enabled',
]);

function checkProcDestination(m: Mount, dest: string, opts: ParsedMountOptions, source: string): void {
  if (dest !== '/proc' && !dest.startsWith('/proc/')) return;
  const bind = isBindMount(m, opts);
  const fromProc = bind && m.source !== undefined && (m.source === '/proc' || m.source.startsWith('/proc/'));
  if (dest === '/proc') {
    if (m.type === 'proc' || fromProc) return;
    throw new CartonError('EINVAL_CONFIG', `${source}: /proc can only be a proc mount, not ${JSON.stringify(m.type ?? '')}`);
  }
  if (fromProc || (bind && PROC_BIND_ALLOWED.has(dest))) return;
  throw new CartonError('EINVAL_CONFIG', `${source}: cannot mount inside /proc (only binds onto ${[...PROC_BIND_ALLOWED].join(', ')})`);
}

function propagate(target: string, flags: number, source: string): Op {
  return { op: OpCode.MOUNT, source, device: '', target, targetKind: MountTargetKind.IN_ROOT, fstype: '', flags, data: '' };
}

export function setattr(target: string, attrSet: number, attrClear: number, recursive: boolean, source: string): Op {
  return {
    op: OpCode.MOUNT_SETATTR, source, target, targetKind: MountTargetKind.IN_ROOT,
    attrSet, attrClear, propagation: 0, recursive,
  };
}

/** The -o data of a fresh v1 hierarchy mount named by its /sys/fs/cgroup subdir. */
function v1MountData(subdir: string): string {
  if (subdir === 'systemd') return 'name=systemd';
  return subdir;
}

/**
 * The "cgroup" mount type. Without a cgroup namespace the container must only
 * see its own cgroup, so its host directories are bound in; with one, fresh
 * cgroup mounts show the namespace's root, which is the container's cgroup.
 */
function planCgroupMount(
  plan: MountPlan, dest: string, opts: ParsedMountOptions, source: string, view: CgroupView, ns: NamespaceInfo,
): void {
  const ops = plan.beforePivot;
  const flags = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  const cgroupns = ns.has('cgroup');
  const mount = (device: string, target: string, fstype: string, f: number, data: string): Op => ({
    op: OpCode.MOUNT, source, device, target, targetKind: MountTargetKind.IN_ROOT_CREATE_DIR, fstype, flags: f, data,
  });
  if (view.kind === 'v2') {
    const own = view.mounts.find((m) => m.subdir === '') ?? view.mounts[0];
    if (cgroupns || !own) ops.push(mount('cgroup2', dest, 'cgroup2', flags, ''));
    else ops.push(mount(own.hostPath, dest, '', flags | MS.BIND | MS.REC, ''));
    return;
  }
  // v1 and hybrid: a tmpfs holding one mount per hierarchy, read-only at the end.
  ops.push(mount('tmpfs', dest, 'tmpfs', flags & ~MS.RDONLY, 'mode=755'));
  for (const h of view.mounts) {
    const target = `${dest}/${h.subdir}`;
    if (!cgroupns) ops.push(mount(h.hostPath, target, '', flags | MS.BIND | MS.REC, ''));
    else if (h.subdir === 'unified') ops.push(mount('cgroup2', target, 'cgroup2', flags, ''));
    else ops.push(mount('cgroup', target, 'cgroup', flags, h.mountData ?? v1MountData(h.subdir)));
  }
  for (const l of view.links) {
    ops.push({ op: OpCode.SYMLINK, source, target: l.target, path: `${dest}/${l.name}` });
  }
  if (flags & MS.RDONLY) {
    const { set } = msToMountAttr(MS.RDONLY);
    ops.push(setattr(dest, set, 0, false, source));
  }
}
