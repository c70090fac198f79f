/**
 * OCI mount options → mount(2) flags, propagation changes, recursive
 * mount_setattr attributes and filesystem data: the option vocabulary runc
 * accepts. Options are applied in order, so "ro,rw" ends read-write.
 */
import { MOUNT_ATTR, MS } from './ops';

/** mount(2) flags ops.ts does not list. */
export const MS_EXTRA = { POSIXACL: 1 << 16, I_VERSION: 1 << 23 } as const;

interface FlagOption { set: boolean; flag: number }

const FLAG_OPTIONS: Record<string, FlagOption> = {
  defaults: { set: true, flag: 0 },
  ro: { set: true, flag: MS.RDONLY },
  rw: { set: false, flag: MS.RDONLY },
  nosuid: { set: true, flag: MS.NOSUID },
  suid: { set: false, flag: MS.NOSUID },
  nodev: { set: true, flag: MS.NODEV },
  dev: { set: false, flag: MS.NODEV },
  noexec: { set: true, flag: MS.NOEXEC },
  exec: { set: false, flag: MS.NOEXEC },
  sync: { set: true, flag: MS.SYNCHRONOUS },
  async: { set: false, flag: MS.SYNCHRONOUS },
  dirsync: { set: true, flag: MS.DIRSYNC },
  remount: { set: true, flag: MS.REMOUNT },
  mand: { set: true, flag: MS.MANDLOCK },
  nomand: { set: false, flag: MS.MANDLOCK },
  noatime: { set: true, flag: MS.NOATIME },
  atime: { set: false, flag: MS.NOATIME },
  nodiratime: { set: true, flag: MS.NODIRATIME },
  diratime: { set: false, flag: MS.NODIRATIME },
  relatime: { set: true, flag: MS.RELATIME },
  norelatime: { set: false, flag: MS.RELATIME },
  strictatime: { set: true, flag: MS.STRICTATIME },
  nostrictatime: { set: false, flag: MS.STRICTATIME },
  lazytime: { set: true, flag: MS.LAZYTIME },
  nolazytime: { set: false, flag: MS.LAZYTIME },
  iversion: { set: true, flag: MS_EXTRA.I_VERSION },
  noiversion: { set: false, flag: MS_EXTRA.I_VERSION },
  silent: { set: true, flag: MS.SILENT },
  loud: { set: false, flag: MS.SILENT },
  nosymfollow: { set: true, flag: MS.NOSYMFOLLOW },
  symfollow: { set: false, flag: MS.NOSYMFOLLOW },
  bind: { set: true, flag: MS.BIND },
  rbind: { set: true, flag: MS.BIND | MS.REC },
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

const RECURSIVE_ATTR_OPTIONS: Record<string, { set: boolean; attr: number; atime?: boolean }> = {
  rro: { set: true, attr: MOUNT_ATTR.RDONLY },
  rrw: { set: false, attr: MOUNT_ATTR.RDONLY },
  rnosuid: { set: true, attr: MOUNT_ATTR.NOSUID },
  rsuid: { set: false, attr: MOUNT_ATTR.NOSUID },
  rnodev: { set: true, attr: MOUNT_ATTR.NODEV },
  rdev: { set: false, attr: MOUNT_ATTR.NODEV },
  rnoexec: { set: true, attr: MOUNT_ATTR.NOEXEC },
  rexec: { set: false, attr: MOUNT_ATTR.NOEXEC },
  rnodiratime: { set: true, attr: MOUNT_ATTR.NODIRATIME },
  rdiratime: { set: false, attr: MOUNT_ATTR.NODIRATIME },
  rnosymfollow: { set: true, attr: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { set: false, attr: MOUNT_ATTR.NOSYMFOLLOW },
  rrelatime: { set: true, attr: MOUNT_ATTR.RELATIME, atime: true },
  rnorelatime: { set: false, attr: MOUNT_ATTR.RELATIME, atime: true },
  rnoatime: { set: true, attr: MOUNT_ATTR.NOATIME, atime: true },
  ratime: { set: false, attr: MOUNT_ATTR.NOATIME, atime: true },
  rstrictatime: { set: true, attr: MOUNT_ATTR.STRICTATIME, atime: true },
  rnostrictatime: { set: false, attr: MOUNT_ATTR.STRICTATIME, atime: true },
};

/**
 * Options engines pass that ask the runtime to copy image content into a
 * fresh tmpfs (Podman's default for --tmpfs). Carton does not copy yet; the
 * mount itself still works, so they are accepted and reported as ignored.
 */
const IGNORED_OPTIONS = new Set(['tmpcopyup', 'notmpcopyup']);

/** Options that need kernel features no op expresses yet (idmapped mounts). */
const UNSUPPORTED_OPTIONS = new Set(['idmap', 'ridmap']);

/**
 * Every option name the parser understands itself (not passed on as filesystem data),
 * sorted: what `carton-runtime features` lists as mountOptions.
 */
export const KNOWN_MOUNT_OPTIONS: readonly string[] = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...Object.keys(RECURSIVE_ATTR_OPTIONS),
  ...IGNORED_OPTIONS,
].sort();

export interface ParsedMountOptions {
  /** MS_* flags to pass to mount(2) (propagation excluded). */
  flags: number;
  /** MS_* flags an option explicitly cleared ("rw", "suid" …). */
  cleared: number;
  /** Propagation changes in order, each MS_SHARED/SLAVE/PRIVATE/UNBINDABLE, maybe | MS_REC. */
  propagation: number[];
  /** Recursive mount_setattr, when any r* attribute option was given. */
  recursiveAttr?: { set: number; clear: number };
  /** Filesystem-specific data ("mode=755,size=65536k"). */
  data: string;
  /** Options accepted but without effect (see IGNORED_OPTIONS). */
  ignored: string[];
  /** Options Carton cannot honour; the caller reports them. */
  unsupported: string[];
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  let cleared = 0;
  const propagation: number[] = [];
  let recSet = 0;
  let recClear = 0;
  let anyRec = false;
  const data: string[] = [];
  const ignored: string[] = [];
  const unsupported: string[] = [];

  for (const option of options ?? []) {
    const flag = FLAG_OPTIONS[option];
    if (flag) {
      if (flag.set) {
        flags |= flag.flag;
        cleared &= ~flag.flag;
      } else {
        flags &= ~flag.flag;
        cleared |= flag.flag;
      }
      continue;
    }
    const prop = PROPAGATION_OPTIONS[option];
    if (prop !== undefined) {
      propagation.push(prop);
      continue;
    }
    const rec = RECURSIVE_ATTR_OPTIONS[option];
    if (rec) {
      anyRec = true;
      if (rec.atime) {
        // The kernel wants the whole atime field cleared whenever it changes.
        recClear |= MOUNT_ATTR.ATIME_MASK;
        recSet = (recSet & ~MOUNT_ATTR.ATIME_MASK) | (rec.set ? rec.attr : MOUNT_ATTR.RELATIME);
      } else if (rec.set) {
        recSet |= rec.attr;
        recClear &= ~rec.attr;
      } else {
        recClear |= rec.attr;
        recSet &= ~rec.attr;
      }
      continue;
    }
    if (IGNORED_OPTIONS.has(option)) {
      ignored.push(option);
      continue;
    }
    if (UNSUPPORTED_OPTIONS.has(option)) {
      unsupported.push(option);
      continue;
    }
    data.push(option);
  }
  return {
    flags,
    cleared,
    propagation,
    recursiveAttr: anyRec ? { set: recSet, clear: recClear } : undefined,
    data: data.join(','),
    ignored,
    unsupported,
  };
}

/** A propagation name as used by linux.rootfsPropagation ("rslave") → MS flags, or undefined. */
export function propagationFlags(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}

/** Per-mount MS_* flags → MOUNT_ATTR_* bits (for mount_setattr remounts). */
export function msToMountAttr(flags: number): { set: number; clear: number } {
  let set = 0;
  let clear = 0;
  if (flags & MS.RDONLY) set |= MOUNT_ATTR.RDONLY;
  if (flags & MS.NOSUID) set |= MOUNT_ATTR.NOSUID;
  if (flags & MS.NODEV) set |= MOUNT_ATTR.NODEV;
  if (flags & MS.NOEXEC) set |= MOUNT_ATTR.NOEXEC;
  if (flags & MS.NODIRATIME) set |= MOUNT_ATTR.NODIRATIME;
  if (flags & MS.NOSYMFOLLOW) set |= MOUNT_ATTR.NOSYMFOLLOW;
  if (flags & (MS.NOATIME | MS.STRICTATIME | MS.RELATIME)) {
    clear |= MOUNT_ATTR.ATIME_MASK;
    if (flags & MS.NOATIME) set |= MOUNT_ATTR.NOATIME;
    else if (flags & MS.STRICTATIME) set |= MOUNT_ATTR.STRICTATIME;
  }
  return { set, clear };
}

/** True when an option list names the mount a bind mount (type "bind" aside). */
export function hasBindOption(options: readonly string[] | undefined): boolean {
  return (options ?? []).some((o) => o === 'bind' || o === 'rbind');
}
