/**
 * The uncompressed tar stream of a layer blob. Compression is taken from the blob's magic
 * bytes (gzip 1f8b, zstd 28b52ffd), as Docker does, so a wrong or unknown media type still
 * unpacks; gzip via zlib, zstd via Debian's `zstd` binary (streaming, no temp file).
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Compression of the file at `file` from its magic bytes; a missing or unreadable file throws. */
export function detectCompression(file: string): Compression {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = fs.readSync(fd, head, 0, 4, 0);
    return compressionOf(head.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/** Compression of a blob from its first bytes (at least 4 when the blob has them). */
export function compressionOf(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Chunks of the decompressed blob at `file`; errors name the blob. */
export async function* decompressFile(file: string, label: string): AsyncGenerator<Buffer> {
  detectCompression(file); // a missing or unreadable blob fails here, before any work
  yield* decompressStream(fs.createReadStream(file, { highWaterMark: 1 << 20 }), label);
}

/**
 * Chunks of a compressed stream as it arrives (a download being stored at the same time),
 * compression sniffed from its first bytes. Input is pulled only as fast as the output is
 * consumed. Stopping early (or failing) ends the input's iteration; whether that destroys
 * the input is the input iterator's business (see Readable.iterator's destroyOnReturn).
 */
export async function* decompressStream(source: AsyncIterable<Buffer>, label: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  try {
    while (headLen < 4) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      headLen += r.value.length;
    }
    const first = Buffer.concat(head);
    const kind = compressionOf(first);
    if (kind === 'none') {
      if (first.length) yield first;
      while (!ended) {
        const r = await it.next();
        if (r.done) break;
        yield r.value;
      }
      ended = true;
      return;
    }
    const sink = kind === 'gzip' ? gunzipSink(label) : zstdSink(label);
    const pump = (async (): Promise<void> => {
      try {
        if (first.length) await sink.write(first);
        while (!ended) {
          const r = await it.next();
          if (r.done) break;
          await sink.write(r.value);
        }
        ended = true;
        sink.end();
      } catch (err) {
        sink.fail(err as Error);
      }
    })();
    try {
      for await (const chunk of sink.output) yield chunk;
      await sink.finished();
    } finally {
      sink.close();
      await pump;
    }
  } finally {
    if (!ended) await it.return?.();
  }
}

interface Sink {
  /** Resolves when the decompressor can take more (or rejects once it failed). */
  write(chunk: Buffer): Promise<void>;
  end(): void;
  /** The input failed: the output fails with this error. */
  fail(err: Error): void;
  output: AsyncIterable<Buffer>;
  /** Rejects when the decompressor reported an error after its last output. */
  finished(): Promise<void>;
  /** Stop everything (after success or failure). */
  close(): void;
}

function waitDrain(stream: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('decompressor closed'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

function gunzipSink(label: string): Sink {
  // zlib (and child_process for zstd) load on the first layer to unpack, not with the module:
  // `carton run` opens the store, which imports this, without unpacking anything.
  const zlib = require('zlib') as typeof import('zlib');
  // 1 MiB out per job, as the 1 MiB batches come in: a quarter of the thread-pool round trips
  // and callbacks of 256 KiB (~30 ms less CPU per 200 MB)
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  const wrap = (err: unknown): CartonError =>
    err instanceof CartonError ? err : new CartonError('EDIGEST', `${label}: gzip: ${(err as Error).message}`, { cause: err });
  return {
    write: async (chunk) => {
      if (gunzip.destroyed) throw new Error('decompressor closed');
      if (!gunzip.write(chunk)) await waitDrain(gunzip);
    },
    end: () => gunzip.end(),
    fail: (err) => gunzip.destroy(err instanceof CartonError ? err : wrap(err)),
    output: (async function* () {
      try {
        for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
      } catch (err) {
        throw wrap(err);
      }
    })(),
    finished: async () => undefined,
    close: () => gunzip.destroy(),
  };
}

function zstdSink(label: string): Sink {
  const { spawn } = require('child_process') as typeof import('child_process');
  const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failure: Error | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: its exit status tells why
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // observed in finished(); keeps an early exit from leaving it unhandled
  let done = false;
  return {
    write: async (chunk) => {
      if (failure) throw failure;
      if (!child.stdin.write(chunk)) await waitDrain(child.stdin);
    },
    end: () => child.stdin.end(),
    fail: (err) => {
      failure = err;
      child.kill('SIGKILL');
    },
    output: child.stdout as AsyncIterable<Buffer>,
    finished: async () => {
      const code = await exited;
      if (failure) throw failure;
      done = true;
      if (code !== 0) throw new CartonError('EDIGEST', `${label}: zstd: ${stderr.trim() || `exit ${code}`}`);
    },
    close: () => {
      if (!done) child.kill('SIGKILL');
    },
  };
}
