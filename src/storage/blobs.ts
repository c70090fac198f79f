/**
 * Content-addressed blobs: blobs/sha256/<hex>. A blob is written to tmp/, verified against
 * its expected digest and size while it streams, fsynced and renamed into place; a file
 * under blobs/ is therefore always complete and correct.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { CartonError, nodeErrorReason } from '../common/errors';
import { digestHex, isDigest } from '../layer/chain';
import { fsyncDir } from './fsutil';
import type { BlobRef, BlobStore } from './store';

export class FileBlobStore implements BlobStore {
  readonly dir: string;

  constructor(root: string, private readonly tempDir: (prefix: string) => string) {
    this.dir = path.join(root, 'blobs', 'sha256');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    if (!isDigest(digest)) throw new CartonError('EINVAL_CONFIG', `invalid digest '${digest}': want sha256:<64 hex>`);
    return path.join(this.dir, digestHex(digest));
  }

  has(digest: string): boolean {
    return isDigest(digest) && fs.existsSync(this.path(digest));
  }

  size(digest: string): number | undefined {
    try {
      return fs.statSync(this.path(digest)).size;
    } catch {
      return undefined;
    }
  }

  openRead(digest: string): Readable {
    if (!this.has(digest)) throw new CartonError('ENOTFOUND', `blob ${digest} is not in the image store`);
    return fs.createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
  }

  readBytes(digest: string): Buffer {
    if (!this.has(digest)) throw new CartonError('ENOTFOUND', `blob ${digest} is not in the image store`);
    return fs.readFileSync(this.path(digest));
  }

  readJSON<T>(digest: string): T {
    return JSON.parse(this.readBytes(digest).toString('utf8')) as T;
  }

  async ingest(expected: BlobRef, source: Readable): Promise<void> {
    const final = this.path(expected.digest);
    const dir = this.tempDir('blob');
    const tmp = path.join(dir, 'data');
    const hash = crypto.createHash('sha256');
    let size = 0;
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'wx', 0o644);
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (expected.size >= 0 && size > expected.size) {
          throw digestError(expected, `more than the expected ${expected.size} bytes`);
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
      }
      if (expected.size >= 0 && size !== expected.size) {
        throw digestError(expected, `got ${size} of ${expected.size} bytes (truncated)`);
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== expected.digest) throw digestError(expected, `content has digest ${actual}`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(tmp, final); // same content if someone else won the race: harmless
      fsyncDir(this.dir);
    } catch (err) {
      if (err instanceof CartonError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new CartonError(code === 'ENOSPC' ? 'EKERNEL' : 'EINTERNAL', `blob ${expected.digest}: ${nodeErrorReason(err)}`, {
        cause: err,
        hint: code === 'ENOSPC' ? 'free space in the image store (--root) and retry' : undefined,
      });
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
      if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
    }
  }

  async writeBytes(data: Buffer): Promise<BlobRef> {
    const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
    if (!this.has(digest)) {
      const { Readable } = await import('stream');
      await this.ingest({ digest, size: data.length }, Readable.from([data]));
    }
    return { digest, size: data.length };
  }

  async writeJSON(value: unknown): Promise<BlobRef & { bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value));
    return { ...(await this.writeBytes(bytes)), bytes };
  }

  remove(digest: string): void {
    fs.rmSync(this.path(digest), { force: true });
  }

  list(): string[] {
    return fs.readdirSync(this.dir).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

function digestError(expected: BlobRef, what: string): CartonError {
  return new CartonError('EDIGEST', `blob ${expected.digest}: ${what}`, {
    hint: 'the registry or archive served content that does not match its manifest',
  });
}
