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

/** Pull `ref`, showing Docker-style progress on `out`; returns the stored image. */
export async function pullImage(
  ctx: CliContext,
  ref: string,
  out: NodeJS.WritableStream & { isTTY?: boolean },
  opts: { quiet?: boolean; platform?: string; tlsVerify?: boolean } = {},
): Promise<ImageRecord> {
  const parsed = parseReference(ref);
  // Loaded here so commands that never pull do not pay for the registry client.
  const { pull } = require('../../image/pull') as typeof import('../../image/pull');
  const { ProgressRenderer } = require('../../image/progress') as typeof import('../../image/progress');
  const renderer = new ProgressRenderer(out, { quiet: opts.quiet });
  const result = await pull(formatReference(parsed), { store: ctx.store(), platform: opts.platform, tlsVerify: opts.tlsVerify, onProgress: renderer.handle });
  if (!result.record) throw new CartonError('EINTERNAL', `pull of ${familiarString(parsed)} finished but the image is not in the store`, { exitCode: 125 });
  return result.record;
}

/** `carton run`'s image lookup (`--pull missing|always|never`): local first; otherwise Docker's notice, then a pull. */
export async function ensureImage(ctx: CliContext, ref: string, policy = 'missing'): Promise<{ store: Store; image: ImageRecord }> {
  const store = ctx.store();
  if (policy === 'always') return { store, image: await pullImage(ctx, ref, process.stderr) };
  const local = store.images.resolve(ref);
  if (local) return { store, image: local };
  if (policy === 'never') throw new CartonError('ENOTFOUND', `Error: No such image: ${ref}`, { exitCode: 125 });
  const parsed = parseReference(ref);
  ctx.err(`Unable to find image '${familiarString(parsed)}' locally\n`);
  const image = await pullImage(ctx, ref, process.stderr);
  return { store, image };
}
