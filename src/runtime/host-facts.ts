/**
 * Facts about the host and the container's files that the pure planner takes as
 * inputs (src/plan/inputs.ts): HOME from the container's /etc/passwd, whether AppArmor
 * is on, whether setgroups is denied in a user namespace.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * The home directory of `uid` in `<base>/etc/passwd` (runc gives it as HOME when the
 * config sets none; Docker's configs rely on that). The file belongs to the container,
 * so a symlink anywhere on the way could point at a host file: every component is
 * lstat'ed and must be a real directory / regular file, and the file is opened with
 * O_NOFOLLOW. Anything odd → undefined (the planner then uses "/").
 * `base` is the rootfs (create) or /proc/<pid>/root (exec: sees the container's mounts).
 */
export function homeFromPasswd(base: string, uid: number): string | undefined {
  const text = readContainerFile(base, ['etc', 'passwd'], 1 << 20);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]) || Number(f[2]) !== uid) continue;
    const home = f[5];
    // Only an absolute path is meaningful as HOME; an empty field means none.
    return home.startsWith('/') ? home : undefined;
  }
  return undefined;
}

/** A small file under `base`, reached through real directories only; undefined when not plainly there. */
export function readContainerFile(base: string, components: string[], maxBytes: number): string | undefined {
  let dir = base;
  for (const name of components.slice(0, -1)) {
    dir = path.join(dir, name);
    const st = lstatOrNull(dir);
    if (!st || !st.isDirectory()) return undefined;
  }
  const file = path.join(dir, components[components.length - 1]);
  const st = lstatOrNull(file);
  if (!st || !st.isFile() || st.size > maxBytes) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    // Swapped for something else between lstat and open: not the file we checked.
    const opened = fs.fstatSync(fd);
    if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev) return undefined;
    const buf = Buffer.alloc(Math.min(opened.size, maxBytes));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** The kernel has AppArmor on (/sys/module/apparmor/parameters/enabled is "Y"). */
export function apparmorEnabled(file = '/sys/module/apparmor/parameters/enabled'): boolean {
  try {
    return fs.readFileSync(file, 'utf8').trim().startsWith('Y');
  } catch {
    return false;
  }
}

/** setgroups(2) is refused in the user namespace of `pid` (its /proc/<pid>/setgroups says "deny"). */
export function setgroupsDeniedFor(pid: number | 'self'): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}
