/**
 * Random access to the files of an image archive, whether it is a tar (indexed once: each
 * member's body offset, then read in place — layers are never extracted to disk) or a
 * directory (an OCI layout made by `skopeo copy oci:`). Member names are cleaned like layer
 * entries, and symlinks/hardlinks between members (older `docker save` links duplicate
 * layer.tar files) are followed inside the archive only.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { CartonError } from '../common/errors';
import { cleanEntryPath } from '../layer/apply';
import { TarParser } from '../layer/tar-reader';

export interface ArchiveSource {
  readonly label: string;
  has(name: string): boolean;
  size(name: string): number;
  /** Whole member (for JSON files); refuses members above `max` bytes. */
  read(name: string, max?: number): Buffer;
  stream(name: string): Readable;
  /** First bytes of a member, to sniff compression. */
  head(name: string, n: number): Buffer;
}

const MAX_JSON = 16 << 20;

interface Member {
  offset: number;
  size: number;
  link?: string; // cleaned target name for symlinks/hardlinks
}

export class TarArchive implements ArchiveSource {
  private members = new Map<string, Member>();

  private constructor(private readonly file: string, readonly label: string) {}

  /** Index the tar at `file` in one sequential pass. */
  static async open(file: string, label = file): Promise<TarArchive> {
    const a = new TarArchive(file, label);
    const parser: TarParser = new TarParser({
      entry: (e) => {
        let name: string;
        try {
          name = cleanEntryPath(e.name).join('/');
        } catch {
          return; // a member we could never be asked for
        }
        if (e.type === 'file') a.members.set(name, { offset: parser.position, size: e.size });
        else if (e.type === 'symlink') {
          const target = path.posix.join(path.posix.dirname(name), e.linkname);
          a.members.set(name, { offset: 0, size: 0, link: target });
        } else if (e.type === 'link') a.members.set(name, { offset: 0, size: 0, link: e.linkname });
      },
      data: () => undefined,
      entryEnd: () => undefined,
    }, label);
    try {
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) parser.push(chunk as Buffer);
      parser.end();
    } catch (err) {
      if (err instanceof CartonError) {
        throw new CartonError('EINVAL_CONFIG', `${label}: not a valid tar archive (${err.message.replace(`${label}: `, '')})`, { cause: err });
      }
      throw new CartonError('ENOTFOUND', `${label}: ${(err as Error).message}`, { cause: err });
    }
    return a;
  }

  private resolve(name: string): Member | undefined {
    let key: string;
    try {
      key = cleanEntryPath(name).join('/');
    } catch {
      return undefined;
    }
    for (let depth = 0; depth < 16; depth++) {
      const m = this.members.get(key);
      if (!m || !m.link) return m;
      try {
        key = cleanEntryPath(m.link).join('/');
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  private need(name: string): Member {
    const m = this.resolve(name);
    if (!m) throw new CartonError('EINVAL_CONFIG', `${this.label}: missing ${name}`);
    return m;
  }

  size(name: string): number {
    return this.need(name).size;
  }

  read(name: string, max = MAX_JSON): Buffer {
    const m = this.need(name);
    if (m.size > max) throw new CartonError('EINVAL_CONFIG', `${this.label}: ${name} is ${m.size} bytes, more than expected`);
    const buf = Buffer.alloc(m.size);
    const fd = fs.openSync(this.file, 'r');
    try {
      let got = 0;
      while (got < m.size) {
        const n = fs.readSync(fd, buf, got, m.size - got, m.offset + got);
        if (n === 0) throw new CartonError('EINVAL_CONFIG', `${this.label}: ${name} is truncated`);
        got += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  }

  stream(name: string): Readable {
    const m = this.need(name);
    if (m.size === 0) return require('stream').Readable.from([]) as Readable;
    return fs.createReadStream(this.file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
  }

  head(name: string, n: number): Buffer {
    const m = this.need(name);
    const buf = Buffer.alloc(Math.min(n, m.size));
    const fd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(fd, buf, 0, buf.length, m.offset);
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  }
}

export class DirArchive implements ArchiveSource {
  constructor(private readonly dir: string, readonly label = dir) {}

  private file(name: string): string {
    let parts: string[];
    try {
      parts = cleanEntryPath(name);
    } catch (err) {
      throw new CartonError('EINVAL_CONFIG', `${this.label}: ${(err as Error).message}`);
    }
    return path.join(this.dir, ...parts);
  }

  has(name: string): boolean {
    try {
      return fs.statSync(this.file(name)).isFile();
    } catch {
      return false;
    }
  }

  size(name: string): number {
    if (!this.has(name)) throw new CartonError('EINVAL_CONFIG', `${this.label}: missing ${name}`);
    return fs.statSync(this.file(name)).size;
  }

  read(name: string, max = MAX_JSON): Buffer {
    if (this.size(name) > max) throw new CartonError('EINVAL_CONFIG', `${this.label}: ${name} is larger than expected`);
    return fs.readFileSync(this.file(name));
  }

  stream(name: string): Readable {
    this.size(name);
    return fs.createReadStream(this.file(name), { highWaterMark: 1 << 20 });
  }

  head(name: string, n: number): Buffer {
    const fd = fs.openSync(this.file(name), 'r');
    try {
      const buf = Buffer.alloc(n);
      return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
    } finally {
      fs.closeSync(fd);
    }
  }
}
