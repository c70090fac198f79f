/**
 * Rootless mode: carton-runtime run by an unprivileged user (or by root inside a
 * user namespace it does not own the host from). What changes then, as in runc:
 *  - the state root defaults to $XDG_RUNTIME_DIR/carton-runtime (the user cannot
 *    write /run);
 *  - the container needs a user namespace (the user has no privilege on the host);
 *  - cgroups are used only where the user was delegated one (rootless-cgroups.ts);
 *  - maps beyond the user's own id go through newuidmap/newgidmap (idmap.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';
import type { LinuxIDMapping, Spec } from '../oci/spec';

export type RootlessSetting = 'true' | 'false' | 'auto';

let setting: RootlessSetting = 'auto';

/** The global --rootless flag (runc's): true, false or auto (rootless when not root). */
export function setRootlessSetting(value: string | undefined): void {
  const v = (value ?? 'auto').toLowerCase();
  if (v !== 'true' && v !== 'false' && v !== 'auto') {
    throw new CartonError('EINVAL_CONFIG', `--rootless: must be true, false or auto, got "${value}"`);
  }
  setting = v;
}

/** The whole-id-space identity map of the initial user namespace. */
export function isInitialUserNsMap(uidMapText: string): boolean {
  const lines = uidMapText.trim().split('\n').filter(Boolean);
  return lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0]);
}

/** True when this process runs inside a user namespace other than the host's. */
export function runningInUserNs(): boolean {
  try {
    return !isInitialUserNsMap(fs.readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}

/** Rootless: told so by --rootless, or (auto) not root, or root of a nested user namespace. */
export function isRootless(euid: number = process.geteuid?.() ?? 0): boolean {
  if (setting === 'true') return true;
  if (setting === 'false') return false;
  return euid !== 0 || runningInUserNs();
}

export const SYSTEM_STATE_ROOT = '/run/carton-runtime';

/**
 * runc's rule for the default --root: $XDG_RUNTIME_DIR/<name> when the user is
 * not root (or is root only inside a user namespace, with $USER not root), else /run.
 */
export function defaultStateRoot(
  env: NodeJS.ProcessEnv = process.env,
  euid: number = process.geteuid?.() ?? 0,
  inUserNs: () => boolean = runningInUserNs,
): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (!xdg) return SYSTEM_STATE_ROOT;
  const honour = euid !== 0 || (inUserNs() && !!env.USER && env.USER !== 'root');
  return honour ? path.join(xdg, 'carton-runtime') : SYSTEM_STATE_ROOT;
}

function isMapped(mappings: readonly LinuxIDMapping[] | undefined, id: number): boolean {
  return (mappings ?? []).some((m) => id >= m.containerID && id < m.containerID + m.size);
}

/**
 * Mount options that name ids (devpts gid=5, tmpfs uid=…) must name ids the new
 * user namespace maps: the kernel refuses the mount with a bare EINVAL otherwise.
 */
export function checkMountOptionIds(spec: Spec): void {
  const linux = spec.linux ?? {};
  (spec.mounts ?? []).forEach((m, i) => {
    for (const o of m.options ?? []) {
      const hit = /^(uid|gid)=(\d+)$/.exec(o);
      if (!hit) continue;
      const id = Number(hit[2]);
      const maps = hit[1] === 'uid' ? linux.uidMappings : linux.gidMappings;
      if (!isMapped(maps, id)) {
        const field = hit[1] === 'uid' ? 'linux.uidMappings' : 'linux.gidMappings';
        throw new CartonError('EINVAL_CONFIG', `mounts[${i}] (${m.destination}): option ${o}: ${hit[1]} ${id} is not mapped by ${field}`, {
          hint: `drop the ${hit[1]}= option (spec --rootless does) or map ${id}`,
        });
      }
    }
  });
}

/** What an unprivileged runtime cannot do, refused before anything is created. */
export function checkRootlessSpec(spec: Spec, opts: { euid: number; setgroupsDenied: boolean }): void {
  const namespaces = spec.linux?.namespaces ?? [];
  if (opts.euid !== 0 && !namespaces.some((n) => n.type === 'user')) {
    throw new CartonError(
      'EINVAL_CONFIG',
      `linux.namespaces: a rootless container (carton-runtime run by uid ${opts.euid}) requires a user namespace`,
      { hint: 'add {"type": "user"} with linux.uidMappings/gidMappings, or generate the config with `carton-runtime spec --rootless`' },
    );
  }
  const gids = spec.process?.user?.additionalGids ?? [];
  if (opts.setgroupsDenied && gids.length > 0) {
    throw new CartonError(
      'EINVAL_CONFIG',
      'process.user.additionalGids: cannot be set in this rootless container: setgroups is denied in its user namespace (linux.gidMappings maps only your own gid, written without newgidmap)',
      { hint: 'map gids from /etc/subgid in linux.gidMappings (newgidmap then allows setgroups), or drop additionalGids' },
    );
  }
}
