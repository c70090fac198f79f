/**
 * The root filesystem around the mounts: propagation of "/" in the new mount
 * namespace, the self-bind that makes the rootfs a mount point for
 * pivot_root, and the finishing touches after pivot_root (read-only root,
 * read-only and masked paths).
 */
import type { Spec } from '../oci/spec';
import type { PlanContext } from './inputs';
import { MountTargetKind, MOUNT_ATTR, MS, Op, OpCode } from './ops';
import { propagationFlags } from './mount-options';
import { setattr } from './mounts';

/**
 * Before the mounts. "/" becomes rslave by default, so nothing the container
 * mounts reaches the host while host mounts still appear inside. With a shared
 * root propagation pivot_root would refuse a shared parent, so the rootfs is
 * bound twice: the first bind is made private and becomes the parent of the second.
 */
export function rootfsPrepareOps(spec: Spec, ctx: PlanContext): Op[] {
  const name = spec.linux?.rootfsPropagation;
  const propagation = (name ? propagationFlags(name) : undefined) ?? MS.SLAVE | MS.REC;
  const source = name ? `linux.rootfsPropagation (${name})` : 'root.path';
  const host = (device: string, target: string, flags: number, src: string): Op => ({
    op: OpCode.MOUNT, source: src, device, target, targetKind: MountTargetKind.HOST, fstype: '', flags, data: '',
  });
  const ops: Op[] = [host('', '/', propagation, source)];
  const rootSource = `root.path (${spec.root?.path ?? ctx.rootfs})`;
  if (propagation & MS.SHARED) {
    ops.push(host(ctx.rootfs, ctx.rootfs, MS.BIND | MS.REC, rootSource));
    ops.push(host('', ctx.rootfs, MS.PRIVATE, rootSource));
  }
  ops.push(host(ctx.rootfs, ctx.rootfs, MS.BIND | MS.REC, rootSource));
  ops.push({ op: OpCode.SET_ROOT, path: ctx.rootfs, source: rootSource });
  return ops;
}

export function switchRootOps(ctx: PlanContext): Op[] {
  return ctx.noPivot
    ? [{ op: OpCode.MOVE_ROOT, source: '--no-pivot' }]
    : [{ op: OpCode.PIVOT_ROOT, source: 'root.path' }];
}

export function readonlyRootOps(spec: Spec): Op[] {
  if (!spec.root?.readonly) return [];
  return [setattr('/', MOUNT_ATTR.RDONLY, 0, false, 'root.readonly')];
}

/** Read-only paths first, then masks (a masked path inside a read-only one still gets masked). */
export function pathProtectionOps(spec: Spec): Op[] {
  const ops: Op[] = [];
  (spec.linux?.readonlyPaths ?? []).forEach((path, i) =>
    ops.push({ op: OpCode.READONLY_PATH, path, source: `linux.readonlyPaths[${i}] (${path})` }));
  (spec.linux?.maskedPaths ?? []).forEach((path, i) =>
    ops.push({ op: OpCode.MASK_PATH, path, source: `linux.maskedPaths[${i}] (${path})` }));
  return ops;
}
