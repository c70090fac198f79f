/**
 * Content-addressed blobs: blobs/sha256/<hex>. A blob is written to tmp/, verified against
 * its expected digest and size while it streams, fsynced and renamed into place; a file
 * under blobs/ is therefore always complete and correct.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Readable, Writable } from 'stream';
import { CartonError, nodeErrorReason } from '../common/errors';
import { digestHex, isDigest, newSha256 } from '../layer/chain';
import { fsyncDirAsync } from './fsutil';
import type { BlobRef, BlobStore, IngestOptions } from './store';

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

  async ingest(expected: BlobRef, source: Readable, opts: IngestOptions = {}): Promise<void> {
    const final = this.path(expected.digest);
    const dir = this.tempDir('blob');
    const tmp = path.join(dir, 'data');
    const hash = newSha256();
    const { tee } = opts;
    let size = 0;
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'wx', 0o644);
      // Socket-sized chunks are gathered into ~1 MiB batches: one write to the thread pool
      // (with one batch in flight while the next fills, so hashing on this thread overlaps
      // the copy to the page cache) and one job for the tee's decompressor, instead of ~16.
      const writer = new BatchWriter(fh);
      const pass = async (batch: Buffer | undefined): Promise<void> => {
        if (!batch) return;
        await writer.write(batch);
        if (tee) await teeWrite(tee, batch);
      };
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (expected.size >= 0 && size > expected.size) {
          throw digestError(expected, `more than the expected ${expected.size} bytes`);
        }
        hash.update(chunk);
        await pass(writer.add(chunk));
      }
      await pass(writer.take());
      if (expected.size >= 0 && size !== expected.size) {
        throw digestError(expected, `got ${size} of ${expected.size} bytes (truncated)`);
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== expected.digest) throw digestError(expected, `content has digest ${actual}`);
      tee?.end(); // verified: the unpacker may finish while the blob is flushed
      await writer.finish();
      await fh.sync();
      await fh.close();
      fh = undefined;
      fs.renameSync(tmp, final); // same content if someone else won the race: harmless
      await fsyncDirAsync(this.dir);
    } catch (err) {
      tee?.destroy(err as Error);
      if (err instanceof CartonError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new CartonError(code === 'ENOSPC' ? 'EKERNEL' : 'EINTERNAL', `blob ${expected.digest}: ${nodeErrorReason(err)}`, {
        cause: err,
        hint: code === 'ENOSPC' ? 'free space in the image store (--root) and retry' : undefined,
      });
    } finally {
      if (fh !== undefined) await fh.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
      if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
    }
  }

  async writeBytes(data: Buffer): Promise<BlobRef> {
    const digest = `sha256:${newSha256().update(data).digest('hex')}`;
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

/** Gathers a stream's chunks into ~1 MiB batches and writes them, at most one write in flight. */
class BatchWriter {
  private batch: Buffer[] = [];
  private batchLen = 0;
  private inflight: Promise<void> = Promise.resolve();

  constructor(private readonly fh: fs.promises.FileHandle) {}

  /** Add a chunk; returns the batch (one buffer) once it reached 1 MiB. */
  add(chunk: Buffer): Buffer | undefined {
    this.batch.push(chunk);
    this.batchLen += chunk.length;
    return this.batchLen >= 1 << 20 ? this.take() : undefined;
  }

  /** The batch gathered so far, if any. */
  take(): Buffer | undefined {
    if (this.batchLen === 0) return undefined;
    const out = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchLen);
    this.batch = [];
    this.batchLen = 0;
    return out;
  }

  /** Start writing `buf` once the previous write is done (whose failure, e.g. ENOSPC, is thrown here). */
  async write(buf: Buffer): Promise<void> {
    await this.inflight;
    this.inflight = writeAll(this.fh, buf);
    this.inflight.catch(() => undefined); // observed by the next write or finish
  }

  async finish(): Promise<void> {
    await this.inflight;
  }
}

async function writeAll(fh: fs.promises.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Write to the unpacker's stream, waiting while it is full; fails once it is gone. */
function teeWrite(tee: Writable, chunk: Buffer): Promise<void> | void {
  if (tee.destroyed) throw new Error('the unpacking stream closed early');
  if (tee.write(chunk)) return;
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      tee.removeListener('drain', onDrain);
      tee.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the unpacking stream closed early'));
    tee.on('drain', onDrain);
    tee.on('close', onClose);
  });
}
