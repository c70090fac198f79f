/**
 * /dev contents: the default device nodes every container gets, the config's
 * linux.devices, /dev/ptmx and the /proc/self/fd links. Only when /dev is not
 * bind-mounted from elsewhere (then it is someone else's /dev), as runc does.
 */
import type { LinuxDevice, Spec } from '../oci/spec';
import { Op, OpCode, S_IF } from './ops';
import { cleanDestination, isBindMount } from './mounts';

/** The nodes runc gives every container (OCI "default devices"). */
export const DEFAULT_DEVICES: readonly Required<LinuxDevice>[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const TYPE_BITS: Record<string, number> = { c: S_IF.CHR, u: S_IF.CHR, b: S_IF.BLK, p: S_IF.FIFO };

/** Whether the runtime populates /dev: not when /dev is a bind mount. */
export function needsDevSetup(spec: Spec): boolean {
  return !(spec.mounts ?? []).some((m) => cleanDestination(m.destination) === '/dev' && isBindMount(m));
}

export interface DeviceOptions {
  /** Bind the host's node when mknod is refused (user namespaces). */
  bindFallback: boolean;
}

export function planDevices(spec: Spec, o: DeviceOptions): Op[] {
  if (!needsDevSetup(spec)) return [];
  const ops: Op[] = [];
  const configured = spec.linux?.devices ?? [];
  const configuredPaths = new Set(configured.map((d) => cleanDestination(d.path)));
  const node = (d: LinuxDevice, source: string): Op => ({
    op: OpCode.MKNOD,
    source,
    path: cleanDestination(d.path),
    mode: TYPE_BITS[d.type] | ((d.fileMode ?? 0o666) & 0o7777),
    major: d.type === 'p' ? 0 : d.major ?? 0,
    minor: d.type === 'p' ? 0 : d.minor ?? 0,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
    bindFallback: o.bindFallback ? cleanDestination(d.path) : '',
  });
  for (const d of DEFAULT_DEVICES) {
    // A config entry for the same path replaces the default one.
    if (!configuredPaths.has(d.path)) ops.push(node(d, `default device ${d.path}`));
  }
  configured.forEach((d, i) => {
    // /dev/ptmx is always the link to the container's own devpts instance.
    if (cleanDestination(d.path) !== '/dev/ptmx') ops.push(node(d, `linux.devices[${i}] (${d.path})`));
  });

  const link = (target: string, p: string): Op => ({ op: OpCode.SYMLINK, source: `default link ${p}`, target, path: p });
  ops.push(link('pts/ptmx', '/dev/ptmx'));
  ops.push(link('/proc/self/fd', '/dev/fd'));
  ops.push(link('/proc/self/fd/0', '/dev/stdin'));
  ops.push(link('/proc/self/fd/1', '/dev/stdout'));
  ops.push(link('/proc/self/fd/2', '/dev/stderr'));
  if ((spec.mounts ?? []).some((m) => m.type === 'proc' && cleanDestination(m.destination) === '/proc')) {
    ops.push(link('/proc/kcore', '/dev/core'));
  }
  return ops;
}
