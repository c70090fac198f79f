/**
 * Stream a directory tree as a tar (sorted, deterministic): for `docker import`-style
 * rootfs layers, for diffs of a container's upper dir, and for test images. Overlay
 * whiteouts (char 0/0) become `.wh.NAME` and trusted.overlay.opaque=y becomes
 * `.wh..wh..opq`, so an upper dir turns back into an image layer. Hardlinks are kept.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getXattrs, splitDev } from '../storage/sys';
import type { TarWriteEntry } from './tar-writer';
import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-writer';

export interface TarDirOptions {
  /** Read xattrs (one batched lookup); overlay's trusted.overlay.* are never copied verbatim. */
  xattrs?: boolean;
  /** Fixed mtime for every entry (reproducible layers); default: the files' own. */
  mtime?: number;
}

export async function* tarDirectory(root: string, options: TarDirOptions = {}): AsyncGenerator<Buffer> {
  const paths: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      paths.push(r);
      if (fs.lstatSync(path.join(root, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  const xattrs = options.xattrs ? getXattrs(paths.map((p) => path.join(root, p))) : new Map<string, Map<string, Buffer>>();
  const seen = new Map<string, string>(); // dev:ino → first path, for hardlinks
  for (const rel of paths) {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const mtime = options.mtime ?? Math.floor(st.mtimeMs / 1000);
    const base: Omit<TarWriteEntry, 'type'> = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime };
    const attrs = new Map<string, Buffer>();
    let opaque = false;
    for (const [k, v] of xattrs.get(abs) ?? []) {
      if (k === 'trusted.overlay.opaque') opaque = v.toString() === 'y';
      else if (!k.startsWith('trusted.overlay.')) attrs.set(k, v);
    }
    if (attrs.size) base.xattrs = attrs;
    if (st.isCharacterDevice() && st.rdev === 0) {
      const dir = path.posix.dirname(rel);
      yield encodeHeader({ ...base, name: `${dir === '.' ? '' : `${dir}/`}.wh.${path.posix.basename(rel)}`, type: 'file', mode: 0o644, size: 0 });
      continue;
    }
    if (st.isDirectory()) {
      yield encodeHeader({ ...base, type: 'dir' });
      if (opaque) yield encodeHeader({ name: `${rel}/.wh..wh..opq`, type: 'file', mode: 0o644, mtime, size: 0 });
      continue;
    }
    if (st.isSymbolicLink()) {
      yield encodeHeader({ ...base, type: 'symlink', linkname: fs.readlinkSync(abs) });
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && !st.isDirectory()) {
      const first = seen.get(key);
      if (first) {
        yield encodeHeader({ ...base, type: 'link', linkname: first });
        continue;
      }
      seen.set(key, rel);
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const { major, minor } = splitDev(st.rdev);
      yield encodeHeader({ ...base, type: st.isCharacterDevice() ? 'chardev' : 'blockdev', devmajor: major, devminor: minor });
    } else if (st.isFIFO()) {
      yield encodeHeader({ ...base, type: 'fifo' });
    } else if (st.isFile()) {
      yield encodeHeader({ ...base, type: 'file', size: st.size });
      let sent = 0;
      const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        while (sent < st.size) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, st.size - sent), null);
          if (n === 0) break;
          sent += n;
          yield Buffer.from(buf.subarray(0, n));
        }
      } finally {
        fs.closeSync(fd);
      }
      // a file that shrank while we read: pad with zeros so the archive stays well-formed
      if (sent < st.size) yield Buffer.alloc(st.size - sent);
      yield padding(st.size);
    }
    // sockets are skipped, as tar does
  }
  yield END_OF_ARCHIVE;
}
