/**
 * The uncompressed tar stream of a layer blob. Compression is taken from the blob's magic
 * bytes (gzip 1f8b, zstd 28b52ffd), as Docker does, so a wrong or unknown media type still
 * unpacks; gzip via zlib, zstd via Debian's `zstd` binary (streaming, no temp file).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as zlib from 'zlib';
import { CartonError } from '../common/errors';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(file: string): Compression {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = fs.readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    fs.closeSync(fd);
  }
}

/** Chunks of the decompressed blob at `file`; errors name the blob. */
export async function* decompressFile(file: string, label: string): AsyncGenerator<Buffer> {
  const kind = detectCompression(file);
  if (kind === 'none') {
    yield* fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
    return;
  }
  if (kind === 'gzip') {
    const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 18 });
    input.on('error', (err) => gunzip.destroy(err));
    input.pipe(gunzip);
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      throw new CartonError('EDIGEST', `${label}: gzip: ${(err as Error).message}`, { cause: err });
    } finally {
      input.destroy();
      gunzip.destroy();
    }
    return;
  }
  const child = spawn('zstd', ['-dcq', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // observed below; keeps an early exit from leaving it unhandled
  let done = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    const code = await exited;
    done = true;
    if (code !== 0) throw new CartonError('EDIGEST', `${label}: zstd: ${stderr.trim() || `exit ${code}`}`);
  } finally {
    if (!done) child.kill('SIGKILL');
  }
}
