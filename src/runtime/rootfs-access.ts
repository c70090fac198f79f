/**
 * Can the container's root reach its rootfs? In a new user namespace the init sets
 * the container up as root *of that namespace*: on the host it is the id that
 * container 0 maps to (say 100000), and its capabilities only override permissions
 * on files whose owner and group are both mapped into the namespace. A rootfs below
 * a 0700 directory of the host root is then out of reach, and runc fails deep in
 * set-up with "mount …: permission denied". Carton checks first and says why.
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import type { LinuxIDMapping, Spec } from '../oci/spec';

export interface PathEntry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/** The host credentials the init has after becoming root in its namespace. */
export interface MappedRoot {
  uid: number;
  gid: number;
  /** Supplementary groups, inherited from the runtime until the final setgroups. */
  groups: readonly number[];
}

export function hostIdOf(mappings: readonly LinuxIDMapping[] | undefined, containerId: number): number | undefined {
  const m = (mappings ?? []).find((x) => containerId >= x.containerID && containerId < x.containerID + x.size);
  return m ? m.hostID + (containerId - m.containerID) : undefined;
}

function mappedOnHost(mappings: readonly LinuxIDMapping[] | undefined, hostId: number): boolean {
  return (mappings ?? []).some((m) => hostId >= m.hostID && hostId < m.hostID + m.size);
}

/** What `who` may do with `e` by the permission bits alone (no capabilities). */
function permBits(e: PathEntry, who: MappedRoot): number {
  if (e.uid === who.uid) return (e.mode >> 6) & 7;
  if (e.gid === who.gid || who.groups.includes(e.gid)) return (e.mode >> 3) & 7;
  return e.mode & 7;
}

/**
 * The first directory on the way (root first, the rootfs last) the mapped root
 * cannot search, or undefined. Capabilities in the namespace count only where
 * the file's owner and group are both mapped.
 */
export function firstUnreachable(
  chain: readonly PathEntry[],
  who: MappedRoot,
  uidMappings: readonly LinuxIDMapping[] | undefined,
  gidMappings: readonly LinuxIDMapping[] | undefined,
): PathEntry | undefined {
  for (const e of chain) {
    if (mappedOnHost(uidMappings, e.uid) && mappedOnHost(gidMappings, e.gid)) continue;
    if ((permBits(e, who) & 1) === 0) return e;
  }
  return undefined;
}

/** Every directory from / down to `dir` (symlinks resolved), with owner and mode. */
export function pathChain(dir: string): PathEntry[] {
  const real = fs.realpathSync(dir);
  const parts = real.split('/').filter(Boolean);
  const out: PathEntry[] = [];
  for (let i = 0; i <= parts.length; i++) {
    const p = '/' + parts.slice(0, i).join('/');
    const st = fs.statSync(p);
    out.push({ path: p, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  return out;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

/**
 * Refuse a rootfs the container's root cannot reach (EINVAL_CONFIG naming root.path),
 * and return warnings for one it can reach but not own (it shows as nobody inside).
 * Only for a user namespace the container creates: a joined one is someone else's.
 */
export function checkRootfsAccess(spec: Spec, rootfs: string, groups: readonly number[] = process.getgroups?.() ?? []): string[] {
  const linux = spec.linux ?? {};
  const userns = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userns || userns.path) return [];
  const uid = hostIdOf(linux.uidMappings, 0);
  const gid = hostIdOf(linux.gidMappings, 0);
  if (uid === undefined || gid === undefined) return []; // validation reports the missing mapping
  let chain: PathEntry[];
  try {
    chain = pathChain(rootfs);
  } catch {
    return []; // a missing rootfs is reported by the bundle loader with its own words
  }
  const who: MappedRoot = { uid, gid, groups };
  const bad = firstUnreachable(chain, who, linux.uidMappings, linux.gidMappings);
  if (bad) {
    const where = bad.path === chain[chain.length - 1].path ? 'the rootfs itself' : bad.path;
    throw new CartonError(
      'EINVAL_CONFIG',
      `root.path (${rootfs}): the container's root (host uid ${uid}, gid ${gid} by linux.uidMappings/gidMappings) cannot reach it: ` +
        `${where} is mode ${octal(bad.mode)} owned by ${bad.uid}:${bad.gid}`,
      { hint: `let others search ${bad.path} (chmod o+x), or chown it to ${uid}:${gid}, or put the bundle somewhere else` },
    );
  }
  const top = chain[chain.length - 1];
  const warnings: string[] = [];
  if (!spec.root?.readonly && !(mappedOnHost(linux.uidMappings, top.uid) && mappedOnHost(linux.gidMappings, top.gid))) {
    warnings.push(
      `root.path (${rootfs}): owned by host ${top.uid}:${top.gid}, which the user namespace does not map: ` +
        `it shows as nobody inside and the container's root cannot write to it (chown -R the rootfs to ${uid}:${gid} to give it the rootfs)`,
    );
  }
  return warnings;
}
