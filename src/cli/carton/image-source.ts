/**
 * Finding images for the CLI: Docker's name normalisation for the store, and
 * "use the local image, or pull it first" for `carton run`. The registry client
 * is loaded only when a pull is actually needed.
 */
import { CartonError } from '../../common/errors';
import { familiarString, formatReference, parseReference } from '../../image/reference';
import type { ImageRecord, Store } from '../../storage/store';
import type { CliContext } from './context';

/** "busybox" → "docker.io/library/busybox:latest"; ids and digests pass through unchanged. */
export function normalizeImageName(name: string): string {
  try {
    return formatReference(parseReference(name));
  } catch {
    return name;
  }
}

/** The shape of src/image/pull.ts the CLI relies on. */
interface PullModule {
  pull(ref: string, opts: { store: Store; platform?: string; onProgress?: (event: unknown) => void; tlsVerify?: boolean; authFile?: string }): Promise<ImageRecord | { image?: ImageRecord; id?: string }>;
}
interface ProgressModule {
  createProgressRenderer?: (out: NodeJS.WritableStream, opts?: { tty?: boolean }) => { onProgress: (e: unknown) => void; done?: () => void };
}

/** Pull `ref`, showing Docker-style progress on `out`; returns the stored image. */
export async function pullImage(ctx: CliContext, ref: string, out: NodeJS.WritableStream, opts: { quiet?: boolean; platform?: string; tlsVerify?: boolean } = {}): Promise<ImageRecord> {
  const parsed = parseReference(ref);
  const store = ctx.store();
  const pullMod = require('../../image/pull') as PullModule;
  let renderer: ReturnType<NonNullable<ProgressModule['createProgressRenderer']>> | undefined;
  if (!opts.quiet) {
    try {
      const progress = require('../../image/progress') as ProgressModule;
      if (progress.createProgressRenderer) renderer = progress.createProgressRenderer(out, { tty: (out as NodeJS.WriteStream).isTTY === true });
    } catch {
      /* no renderer: pull quietly */
    }
  }
  const result = await pullMod.pull(formatReference(parsed), { store, platform: opts.platform, tlsVerify: opts.tlsVerify, onProgress: renderer?.onProgress });
  renderer?.done?.();
  const image = 'layers' in result ? (result as ImageRecord) : store.images.resolve(formatReference(parsed));
  if (!image) throw new CartonError('EINTERNAL', `pull of ${familiarString(parsed)} finished but the image is not in the store`, { exitCode: 125 });
  return image;
}

/** `carton run`'s image lookup: local first; otherwise Docker's notice, then a pull. */
export async function ensureImage(ctx: CliContext, ref: string): Promise<{ store: Store; image: ImageRecord }> {
  const store = ctx.store();
  const local = store.images.resolve(ref);
  if (local) return { store, image: local };
  const parsed = parseReference(ref);
  ctx.err(`Unable to find image '${familiarString(parsed)}' locally\n`);
  const image = await pullImage(ctx, ref, process.stderr);
  return { store, image };
}
