/**
 * The few host syscalls the store needs that Node lacks: mknod, xattrs, mount/umount.
 * They come from the native addon (src/native/addon.ts); on a checkout where it is not
 * built we fall back to spawning mknod(1), mount(8), umount(8) and a python3 one-liner
 * for xattrs, so the store still works (slower) during development.
 */
import type { SpawnSyncReturns } from 'child_process';
import { CartonError, nodeErrorReason } from '../common/errors';
import { addon as loadAddon, CartonAddon } from '../native/addon';

let cachedAddon: CartonAddon | null | undefined;

/**
 * child_process, loaded only when a fallback spawns: with the addon built, mounting a
 * snapshot for `carton run` never does, and loading it costs start-up time.
 */
function spawnSync(cmd: string, args: string[], options: { input?: string; cwd?: string; encoding: 'utf8'; maxBuffer?: number }): SpawnSyncReturns<string> {
  return (require('child_process') as typeof import('child_process')).spawnSync(cmd, args, options);
}

/** The native addon, or null when it is not built (then the spawn fallbacks are used). */
function addon(): CartonAddon | null {
  if (cachedAddon === undefined) {
    // CARTON_STORE_NO_ADDON=1 forces the spawn fallbacks (tests exercise them with it)
    if (process.env.CARTON_STORE_NO_ADDON === '1') return (cachedAddon = null);
    try {
      cachedAddon = loadAddon();
    } catch {
      cachedAddon = null;
    }
  }
  return cachedAddon;
}

export type NodeKind = 'chardev' | 'blockdev' | 'fifo';

/** Linux dev_t from major/minor (glibc's makedev encoding). */
export function makedev(major: number, minor: number): number {
  const lo = (((major & 0xfff) << 8) | (minor & 0xff) | ((minor & 0xfff00) << 12)) >>> 0;
  const hi = (major & 0xfffff000) >>> 0;
  return hi * 0x100000000 + lo;
}

/** Major/minor of a Node `rdev`. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const hi = Math.floor(rdev / 0x100000000);
  const lo = rdev % 0x100000000;
  return {
    major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0),
    minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00),
  };
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export function mknod(path: string, kind: NodeKind, mode: number, major = 0, minor = 0): void {
  const a = addon();
  if (a) {
    const type = kind === 'chardev' ? S_IFCHR : kind === 'blockdev' ? S_IFBLK : S_IFIFO;
    a.mknod(path, type | (mode & 0o7777), major, minor);
    return;
  }
  const args = ['-m', (mode & 0o7777).toString(8), '--', path];
  if (kind === 'fifo') args.push('p');
  else args.push(kind === 'chardev' ? 'c' : 'b', String(major), String(minor));
  run('mknod', args);
}

/** Set many xattrs (without following symlinks). Batched: one spawn in fallback mode. */
export function setXattrs(items: Array<{ path: string; name: string; value: Buffer }>): void {
  if (items.length === 0) return;
  const a = addon();
  if (a) {
    for (const it of items) a.lsetxattr(it.path, it.name, it.value);
    return;
  }
  const script =
    'import os,sys,json\n' +
    'for p,n,v in json.load(sys.stdin):\n' +
    '  try: os.setxattr(p,n,bytes.fromhex(v),follow_symlinks=False)\n' +
    '  except OSError as e: sys.stderr.write("%s: setxattr %s: %s\\n"%(p,n,e.strerror)); sys.exit(1)\n';
  const input = JSON.stringify(items.map((i) => [i.path, i.name, i.value.toString('hex')]));
  run('python3', ['-c', script], input);
}

/** All xattrs of a path (no symlink following). */
export function getXattrs(paths: string[]): Map<string, Map<string, Buffer>> {
  const out = new Map<string, Map<string, Buffer>>();
  if (paths.length === 0) return out;
  const a = addon();
  if (a) {
    for (const p of paths) {
      const m = new Map<string, Buffer>();
      for (const n of a.llistxattr(p)) {
        const v = a.lgetxattr(p, n);
        if (v) m.set(n, v);
      }
      if (m.size) out.set(p, m);
    }
    return out;
  }
  const script =
    'import os,sys,json\nr={}\n' +
    'for p in json.load(sys.stdin):\n' +
    '  try: r[p]={n:os.getxattr(p,n,follow_symlinks=False).hex() for n in os.listxattr(p,follow_symlinks=False)}\n' +
    '  except OSError: pass\n' +
    'json.dump(r,sys.stdout)\n';
  const res = run('python3', ['-c', script], JSON.stringify(paths));
  const parsed = JSON.parse(res) as Record<string, Record<string, string>>;
  for (const [p, attrs] of Object.entries(parsed)) {
    const m = new Map(Object.entries(attrs).map(([k, v]) => [k, Buffer.from(v, 'hex')] as [string, Buffer]));
    if (m.size) out.set(p, m);
  }
  return out;
}

/**
 * Mount overlayfs with lowerdirs given relative to `base` (short names keep the mount data
 * under the kernel's one-page limit with hundreds of layers). `lower` is top-most first.
 */
export function mountOverlay(target: string, base: string, lower: string[], upper: string, work: string): void {
  const data = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work},index=off`;
  if (data.length >= 4096) {
    throw new CartonError('EUNSUPPORTED', `overlay mount of ${lower.length} layers: mount options exceed one page`);
  }
  const a = addon();
  if (a) {
    const prev = process.cwd();
    process.chdir(base);
    try {
      a.mount('overlay', target, 'overlay', 0, data);
    } catch (err) {
      throw new CartonError('EKERNEL', `mount overlay on ${target}: ${nodeErrorReason(err)}`, { cause: err });
    } finally {
      process.chdir(prev);
    }
    return;
  }
  // mount(8) hands the options to the kernel untouched; relative paths resolve against its cwd.
  run('mount', ['-t', 'overlay', 'overlay', '-o', data, target], undefined, base);
}

const MNT_DETACH = 2;

export function unmount(target: string): void {
  const a = addon();
  if (a) {
    try {
      a.umount2(target, MNT_DETACH);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // not mounted
      throw new CartonError('EKERNEL', `unmount ${target}: ${nodeErrorReason(err)}`, { cause: err });
    }
    return;
  }
  const r = spawnSync('umount', ['-l', target], { encoding: 'utf8' });
  if (r.status !== 0 && !/not mounted|no mount point|No such file/i.test(r.stderr)) {
    throw new CartonError('EKERNEL', `unmount ${target}: ${r.stderr.trim()}`);
  }
}

/** Whether `dir` is a mount point (listed in /proc/self/mountinfo). */
export function isMounted(dir: string): boolean {
  const info = require('fs').readFileSync('/proc/self/mountinfo', 'utf8') as string;
  const esc = dir.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

function run(cmd: string, args: string[], input?: string, cwd?: string): string {
  const r = spawnSync(cmd, args, { input, cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new CartonError('EKERNEL', `${cmd}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    const what = cmd === 'mount' ? `mount overlay on ${args[args.length - 1]}` : `${cmd} ${args[args.length - 1] ?? ''}`;
    throw new CartonError('EKERNEL', `${what}: ${(r.stderr || '').trim() || `exit ${r.status}`}`);
  }
  return r.stdout;
}
