/**
 * What /sys/fs/cgroup shows inside the container (pure): the planner turns it into
 * bind mounts of the container's own cgroup directories.
 * - v1/hybrid: one mount per hierarchy under the name it has on the host ("memory",
 *   "cpu,cpuacct", "systemd", "unified"), plus a symlink per controller of a co-mounted
 *   hierarchy ("cpu" → "cpu,cpuacct") as hosts and runc show it;
 * - pure v2: the container's cgroup directory is /sys/fs/cgroup itself.
 */
import * as path from 'path';
import type { CgroupView } from '../plan/inputs';
import type { CgroupLayout } from './detect';
import { hierarchyKeys } from './detect';

export function cgroupView(layout: CgroupLayout, paths: Record<string, string>): CgroupView {
  if (layout.kind === 'v2') {
    return { kind: 'v2', mounts: [{ subdir: '', hostPath: paths.unified }], links: [] };
  }
  const mounts: CgroupView['mounts'] = [];
  const links: CgroupView['links'] = [];
  const names = new Set(layout.hierarchies.map((h) => path.posix.basename(h.mountPoint)));
  for (const h of layout.hierarchies) {
    const subdir = path.posix.basename(h.mountPoint);
    const hostPath = paths[hierarchyKeys(h)[0]];
    if (!hostPath) continue;
    mounts.push({ subdir, hostPath });
    if (h.version === 1 && h.controllers.length > 1) {
      for (const c of h.controllers) {
        if (!c.startsWith('name=') && c !== subdir && !names.has(c)) links.push({ name: c, target: subdir });
      }
    }
  }
  return { kind: layout.kind, mounts, links };
}
