/**
 * `carton import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer
 * image, as `docker import` does. The tarball is kept as the layer blob unchanged; its
 * diffId is computed by one extra decompressing pass before unpacking (the layer store wants
 * to know what it verifies against).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import { decompressFile, detectCompression } from '../layer/decompress';
import type { ImageConfig, ImageRunConfig } from '../storage/image-types';
import { MEDIA } from '../storage/image-types';
import type { ImageRecord, Store } from '../storage/store';
import { hostArch } from './load';

export interface ImportOptions {
  /** Name to give the image ("name:tag"); none leaves it unnamed. */
  name?: string;
  /** Commit message (Docker's --message), kept in the history entry. */
  message?: string;
  /** Config fields set by --change (already parsed by the CLI). */
  config?: ImageRunConfig;
  architecture?: string;
  os?: string;
}

export async function importRootfs(store: Store, file: string, opts: ImportOptions = {}): Promise<ImageRecord> {
  if (!fs.existsSync(file)) throw new CartonError('ENOTFOUND', `import ${file}: no such file or directory`);
  const label = `import ${file}`;
  const kind = detectCompression(file);
  const blobHash = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) blobHash.update(c as Buffer);
  const blobDigest = `sha256:${blobHash.digest('hex')}`;
  let diffId = blobDigest;
  if (kind !== 'none') {
    const h = crypto.createHash('sha256');
    for await (const c of decompressFile(file, label)) h.update(c);
    diffId = `sha256:${h.digest('hex')}`;
  }
  const mediaType = kind === 'gzip' ? MEDIA.ociLayerGzip : kind === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerTar;
  const size = fs.statSync(file).size;
  if (!store.blobs.has(blobDigest)) await store.blobs.ingest({ digest: blobDigest, size }, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  const info = await store.layers.ensure({ diffId, compressedDigest: blobDigest, mediaType }, null);
  const created = new Date().toISOString();
  const config: ImageConfig = {
    created,
    architecture: opts.architecture ?? hostArch(),
    os: opts.os ?? 'linux',
    config: opts.config ?? {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: '', comment: opts.message ?? `Imported from ${file}` }],
  };
  return store.images.put({
    config,
    names: opts.name ? [opts.name] : [],
    layers: [{ chainId: info.chainId, diffId, blobDigest, mediaType, size }],
  });
}
