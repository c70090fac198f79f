/**
 * Where the container's cgroup lives in every hierarchy, from `linux.cgroupsPath`.
 *
 * The rules follow runc's cgroupfs driver (checked against runc on a hybrid host):
 * - absolute "/a/b": under each hierarchy's mount point;
 * - relative "a/b": under the caller's own cgroup in that hierarchy — on pure v2 under
 *   the *parent* of the caller's cgroup, because the caller's own cgroup holds processes
 *   and the no-internal-process rule would forbid enabling controllers in it;
 * - empty: "<id>", i.e. relative (runc gives the container no absolute default either);
 * - "..", "." and repeated slashes cannot climb out of the hierarchy.
 * The systemd form "slice:prefix:name" needs a running systemd (D-Bus), which Carton
 * does not drive yet: it fails with EUNSUPPORTED naming the reason.
 */
import * as path from 'path';
import { CartonError } from '../common/errors';
import { CgroupLayout, Hierarchy, hierarchyKeys } from './detect';

export interface CgroupPathOptions {
  id: string;
  cgroupsPath?: string;
  /** --systemd-cgroup was given. */
  systemd?: boolean;
  /** Whether systemd runs as init (/run/systemd/system exists); asked only when systemd is set. */
  systemdRunning?: boolean;
}

/** Clean a path like runc's CleanPath: no ".." escape, keep absolute vs relative. */
export function cleanCgroupPath(p: string): string {
  if (p === '') return '';
  const absolute = p.startsWith('/');
  let cleaned = path.posix.normalize(path.posix.join('/', p));
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (absolute) return cleaned;
  return cleaned === '/' ? '' : cleaned.slice(1);
}

/** Strip the mount root from a cgroup path (inside a cgroup namespace the root is not "/"). */
function relativeToMount(h: Hierarchy, p: string): string {
  if (h.mountRoot === '/' || h.mountRoot === '') return p;
  if (p === h.mountRoot) return '/';
  if (p.startsWith(h.mountRoot + '/')) return p.slice(h.mountRoot.length);
  return p;
}

/** The inner cgroup path (before joining a mount point) for one hierarchy. */
export function innerPathFor(h: Hierarchy, kind: CgroupLayout['kind'], inner: string): string {
  if (inner.startsWith('/')) return inner;
  let base = relativeToMount(h, h.ownPath);
  if (kind === 'v2') base = path.posix.dirname(base);
  return path.posix.join(base, inner);
}

/** The cgroupsPath (before cleaning) the container uses, or the systemd error. */
function innerPath(opts: CgroupPathOptions): string {
  const given = opts.cgroupsPath ?? '';
  if (opts.systemd) {
    if (given !== '' && given.split(':').length !== 3) {
      throw new CartonError(
        'EINVAL_CONFIG',
        `linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(given)}`,
      );
    }
    throw new CartonError(
      'EUNSUPPORTED',
      opts.systemdRunning
        ? '--systemd-cgroup: the systemd cgroup driver is not supported by carton-runtime yet'
        : '--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)',
      { hint: 'run without --systemd-cgroup (cgroupfs driver) and give a path such as /machine/<id>' },
    );
  }
  if (given.includes(':') && !given.startsWith('/')) {
    throw new CartonError(
      'EINVAL_CONFIG',
      `linux.cgroupsPath: ${JSON.stringify(given)} looks like a systemd "slice:prefix:name" path`,
      { hint: 'pass --systemd-cgroup for that form, or give a plain path' },
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.id) && given === '') {
    throw new CartonError('EINVAL_CONFIG', `container id ${JSON.stringify(opts.id)} cannot name a cgroup`);
  }
  const cleaned = cleanCgroupPath(given);
  return cleaned === '' ? opts.id : cleaned;
}

/** Resolved directories: key (controller, "name=systemd" or "unified") → absolute host dir. */
export function resolveCgroupPaths(layout: CgroupLayout, opts: CgroupPathOptions): Record<string, string> {
  const inner = innerPath(opts);
  const paths: Record<string, string> = {};
  for (const h of layout.hierarchies) {
    const dir = path.posix.join(h.mountPoint, innerPathFor(h, layout.kind, inner)).replace(/\/+$/, '');
    if (dir === h.mountPoint.replace(/\/+$/, '')) {
      throw new CartonError('EINVAL_CONFIG', `linux.cgroupsPath: ${JSON.stringify(opts.cgroupsPath)} is the root cgroup`);
    }
    for (const key of hierarchyKeys(h)) paths[key] = dir;
  }
  return paths;
}
