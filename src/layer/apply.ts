/**
 * Safe application of a layer tar into a directory the caller owns exclusively (a fresh
 * temp dir under the store).
 *
 * Safety: every entry name is cleaned lexically and must stay inside the root; absolute
 * names are refused. Parent components are walked from the root with lstat and never
 * followed when they are symlinks (a symlink placed earlier by this layer, or anything
 * already there, cannot redirect a write). The final component is unlinked before it is
 * created, and files are opened O_EXCL|O_NOFOLLOW. Hardlink targets are resolved the
 * same way and must be existing non-directories inside the root. Because nobody else writes
 * into the directory while we apply, the lstat-then-act sequence has no race to lose.
 *
 * Fidelity: whiteouts `.wh.NAME` become overlay whiteouts (char 0/0), `.wh..wh..opq` sets
 * trusted.overlay.opaque=y; devices, FIFOs, hardlinks, symlinks, setuid/setgid/sticky bits,
 * ownership, mtimes and xattrs (binary values included) are kept. Ownership is applied
 * before mode (chown clears setuid) and xattrs after chown (chown drops security.capability);
 * directory mtimes are set last, as creating children changes them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { mknod, setXattrs } from '../storage/sys';
import { newSha256 } from './chain';
import { TarEntry, TarParser, TarSink } from './tar-reader';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

export interface ApplyResult {
  /** sha256 of the tar stream as applied ("sha256:…"). */
  diffId: string;
  /** Bytes of tar consumed. */
  size: number;
  entries: number;
}

/**
 * Lexically clean a tar name into path components inside the root ([] is the root itself).
 * Throws on absolute names and on '..' that would climb above the root.
 */
export function cleanEntryPath(name: string, what = 'entry'): string[] {
  if (name.startsWith('/')) throw new Error(`${what} '${name}' is an absolute path`);
  if (name.includes('\0')) throw new Error(`${what} name contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new Error(`${what} '${name}' points outside the layer`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

export class LayerApplier implements TarSink {
  private fd: number | undefined;
  private current: { entry: TarEntry; abs: string } | undefined;
  private dirTimes: Array<{ abs: string; mtime: number }> = [];
  private xattrs: Array<{ path: string; name: string; value: Buffer }> = [];
  private count = 0;
  /** Directories already checked (real dirs, not symlinks). Only this applier changes the tree. */
  private knownDirs = new Set<string>();

  constructor(private readonly root: string, private readonly label: string) {}

  entry(e: TarEntry): void {
    this.count++;
    try {
      this.apply(e);
    } catch (err) {
      this.closeFd();
      if (err instanceof CartonError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw this.ioError(`entry '${e.name}'`, err);
      throw new CartonError('EINVAL_CONFIG', `${this.label}: entry '${e.name}': ${reason(err)}`, { cause: err });
    }
  }

  data(chunk: Buffer): void {
    if (this.fd === undefined) return;
    let off = 0;
    try {
      while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (err) {
      this.closeFd();
      throw this.ioError(`write ${this.current?.entry.name}`, err);
    }
  }

  entryEnd(): void {
    if (this.fd === undefined || !this.current) return;
    const { entry, abs } = this.current;
    this.closeFd();
    try {
      this.setMeta(abs, entry);
    } catch (err) {
      throw this.ioError(`metadata of ${entry.name}`, err);
    }
  }

  /** Deferred work: xattrs (after chown) and directory times (after their children). */
  finish(): void {
    this.closeFd();
    try {
      setXattrs(this.xattrs);
    } catch (err) {
      throw new CartonError('EKERNEL', `${this.label}: set xattrs: ${reason(err)}`, {
        cause: err,
        hint: 'the store filesystem must support trusted.* and security.* xattrs (ext4, xfs, tmpfs)',
      });
    }
    for (const { abs, mtime } of this.dirTimes.reverse()) fs.utimesSync(abs, mtime, mtime);
  }

  get entries(): number {
    return this.count;
  }

  private apply(e: TarEntry): void {
    const parts = cleanEntryPath(e.name);
    const base = parts[parts.length - 1] ?? '';
    if (base === OPAQUE) {
      const dir = this.ensureDirs(parts.slice(0, -1));
      this.xattrs.push({ path: dir, name: 'trusted.overlay.opaque', value: Buffer.from('y') });
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return; // aufs bookkeeping (.wh..wh.plnk etc.)
      const name = base.slice(WHITEOUT.length);
      if (!name || name === '.' || name === '..') throw new Error('whiteout without a name');
      const dir = this.ensureDirs(parts.slice(0, -1));
      const abs = path.join(dir, name);
      this.remove(abs);
      mknod(abs, 'chardev', 0, 0, 0);
      fs.lutimesSync(abs, e.mtime, e.mtime); // so a layer re-tarred from this dir is byte-identical
      return;
    }
    if (parts.length === 0) {
      if (e.type !== 'dir') throw new Error('the layer root must be a directory');
      this.setMeta(this.root, e);
      return;
    }
    const dir = this.ensureDirs(parts.slice(0, -1));
    const abs = path.join(dir, base);
    const existing = lstatOrNull(abs);
    if (e.type === 'dir' && existing?.isDirectory()) {
      this.setMeta(abs, e);
      return;
    }
    if (e.type === 'link') {
      const target = this.resolveLinkTarget(e.linkname);
      if (target === abs) return; // a link to itself: already in place
      if (existing) this.remove(abs);
      fs.linkSync(target, abs);
      return;
    }
    if (existing) this.remove(abs);
    switch (e.type) {
      case 'dir':
        fs.mkdirSync(abs, 0o700);
        this.setMeta(abs, e);
        return;
      case 'file':
        this.fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        this.current = { entry: e, abs };
        if (e.size === 0) return; // entryEnd() follows at once and sets metadata
        return;
      case 'symlink':
        if (!e.linkname) throw new Error('symlink without a target');
        fs.symlinkSync(e.linkname, abs);
        this.setMeta(abs, e);
        return;
      case 'chardev':
      case 'blockdev':
      case 'fifo':
        mknod(abs, e.type, 0o600, e.devmajor, e.devminor);
        this.setMeta(abs, e);
        return;
    }
  }

  /** Walk/create parent directories from the root without ever following a symlink. */
  private ensureDirs(parts: string[]): string {
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      const next = path.join(cur, parts[i]);
      if (this.knownDirs.has(next)) {
        cur = next;
        continue;
      }
      const st = lstatOrNull(next);
      if (!st) fs.mkdirSync(next, 0o755);
      else if (st.isSymbolicLink()) {
        throw new Error(`parent '${parts.slice(0, i + 1).join('/')}' is a symlink; refusing to write through it`);
      } else if (!st.isDirectory()) {
        throw new Error(`parent '${parts.slice(0, i + 1).join('/')}' is not a directory`);
      }
      this.knownDirs.add(next);
      cur = next;
    }
    return cur;
  }

  private resolveLinkTarget(linkname: string): string {
    const parts = cleanEntryPath(linkname, 'hardlink target');
    if (parts.length === 0) throw new Error(`hardlink target '${linkname}' is the layer root`);
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      cur = path.join(cur, parts[i]);
      const st = lstatOrNull(cur);
      if (!st) throw new Error(`hardlink target '${linkname}' does not exist in this layer`);
      if (i < parts.length - 1 && !st.isDirectory()) {
        throw new Error(`hardlink target '${linkname}' goes through a ${st.isSymbolicLink() ? 'symlink' : 'non-directory'}`);
      }
      if (i === parts.length - 1 && st.isDirectory()) throw new Error(`hardlink target '${linkname}' is a directory`);
    }
    return cur;
  }

  private setMeta(abs: string, e: TarEntry): void {
    fs.lchownSync(abs, e.uid, e.gid);
    if (e.type !== 'symlink') fs.chmodSync(abs, e.mode & 0o7777);
    for (const [name, value] of e.xattrs) {
      // overlay's own attributes (redirect, metacopy, origin, opaque) would steer lookups in
      // the merged view; a layer expresses opaque dirs with .wh..wh..opq, never directly
      if (name.startsWith('trusted.overlay.')) continue;
      this.xattrs.push({ path: abs, name, value });
    }
    if (e.type === 'dir') this.dirTimes.push({ abs, mtime: e.mtime });
    else fs.lutimesSync(abs, e.mtime, e.mtime);
  }

  /** Remove what is at `abs`; a removed directory takes its checked descendants with it. */
  private remove(abs: string): void {
    if (removeExisting(abs)) {
      for (const d of this.knownDirs) if (d === abs || d.startsWith(`${abs}/`)) this.knownDirs.delete(d);
    }
  }

  private closeFd(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
  }

  private ioError(what: string, err: unknown): CartonError {
    const code = (err as NodeJS.ErrnoException).code;
    return new CartonError(code === 'ENOSPC' ? 'EKERNEL' : 'EINVAL_CONFIG', `${this.label}: ${what}: ${reason(err)}`, {
      cause: err,
      hint: code === 'ENOSPC' ? 'free space in the image store (--root) and retry' : undefined,
    });
  }
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Remove whatever is at `p` (a directory with its contents), never following symlinks. True for a directory. */
function removeExisting(p: string): boolean {
  const st = lstatOrNull(p);
  if (!st) return false;
  if (st.isDirectory()) {
    fs.rmSync(p, { recursive: true, force: true });
    return true;
  }
  fs.unlinkSync(p);
  return false;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && e.syscall) return nodeErrorReason(err);
  return e instanceof Error ? e.message : String(err);
}

/**
 * Apply an uncompressed tar stream into `root`, hashing it on the way (the diffId).
 * `root` must be an empty directory only this call writes into.
 */
export async function applyTar(source: AsyncIterable<Buffer>, root: string, label: string): Promise<ApplyResult> {
  const hash = newSha256();
  const applier = new LayerApplier(root, label);
  const parser = new TarParser(applier, label);
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    parser.push(chunk);
  }
  parser.end();
  applier.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, size, entries: applier.entries };
}
