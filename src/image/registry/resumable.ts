/**
 * One continuous stream of a blob over as many HTTP responses as it takes: when the
 * connection breaks mid-body, the download resumes where it stopped with a Range request
 * (skipping bytes itself if the server ignores Range). The consumer — the store's ingest,
 * which hashes and counts — sees a single stream and never knows a retry happened, so a
 * cut at 90% of a large layer costs 10%, not 100%.
 */
import { Readable } from 'stream';
import { CartonError } from '../../common/errors';
import { isTransientError } from './http';

export interface BlobSource {
  /** Open the blob from `offset`; `skip` leading bytes of the answer are to be dropped. */
  open(offset: number): Promise<{ stream: Readable; skip: number }>;
}

export interface ResumeOptions {
  /** Names the blob in the final error, e.g. `blob sha256:… from host/repo`. */
  label: string;
  /** Total attempts (the first connection included). */
  attempts: number;
  baseDelayMs?: number;
  onRetry?: (attempt: number, reason: string, offset: number) => void;
  /** Bytes delivered so far (for progress lines), called per chunk. */
  onProgress?: (bytes: number) => void;
}

export function resumableStream(source: BlobSource, opts: ResumeOptions): Readable {
  let offset = 0;
  let attempt = 1;
  let current: Readable | undefined;
  let starting = false;
  let finished = false;

  const out = new Readable({
    // Chunks are handed on as they came off the socket (object mode): a byte-mode stream
    // would concatenate whatever is buffered on every read, copying each byte once more.
    objectMode: true,
    highWaterMark: 16,
    read() {
      if (current) current.resume();
      else if (!starting && !finished) void start();
    },
    destroy(err, cb) {
      finished = true;
      current?.destroy();
      cb(err);
    },
  });

  const failOrRetry = (err: unknown): void => {
    current = undefined;
    if (finished) return;
    if (attempt < opts.attempts && isTransientError(err)) {
      attempt++;
      opts.onRetry?.(attempt - 1, (err as Error)?.message ?? String(err), offset);
      const delay = Math.min(5000, (opts.baseDelayMs ?? 250) * 2 ** (attempt - 2));
      starting = true; // a read() during the pause must not open a second connection
      setTimeout(() => void start(), delay);
      return;
    }
    finished = true;
    const reason = (err as Error)?.message ?? String(err);
    out.destroy(
      isTransientError(err)
        ? new CartonError('EREGISTRY', `${opts.label}: download interrupted at byte ${offset} after ${attempt} attempt(s): ${reason}`, { cause: err })
        : (err as Error),
    );
  };

  async function start(): Promise<void> {
    if (finished) return;
    starting = true;
    let opened: { stream: Readable; skip: number };
    try {
      opened = await source.open(offset);
    } catch (err) {
      // Opening already retried what was worth retrying (http.ts); only broken bodies resume here.
      finished = true;
      out.destroy(err as Error);
      return;
    } finally {
      starting = false;
    }
    if (finished) {
      opened.stream.destroy();
      return;
    }
    let skip = opened.skip;
    const s = opened.stream;
    current = s;
    s.on('data', (chunk: Buffer) => {
      if (skip > 0) {
        if (chunk.length <= skip) {
          skip -= chunk.length;
          return;
        }
        chunk = chunk.subarray(skip);
        skip = 0;
      }
      offset += chunk.length;
      opts.onProgress?.(offset);
      if (!out.push(chunk)) s.pause();
    });
    s.on('end', () => {
      if (current !== s) return;
      finished = true;
      current = undefined;
      out.push(null);
    });
    s.on('error', (err) => {
      if (current === s) failOrRetry(err);
    });
  }

  return out;
}
