/**
 * `push`: store → registry. Every blob (layers, then config) is checked with HEAD and
 * skipped when present, mounted from another repository of the same registry when the
 * image came from there, or uploaded (one PUT, or PATCH chunks then PUT ?digest=). The
 * manifest goes last, so a registry never holds a tag whose blobs are missing. The
 * manifest the image was pulled with is pushed byte for byte (same digest); images
 * without one (imported, built) get an OCI manifest.
 */
import * as fs from 'fs';
import { Transform, pipeline } from 'stream';
import { CartonError, asCartonError } from '../common/errors';
import type { ImageManifest } from '../storage/image-types';
import { MEDIA } from '../storage/image-types';
import type { ImageRecord, Store } from '../storage/store';
import { lookupCredentials } from './auth';
import type { PushEvent } from './progress';
import { ImageReference, formatReference, parseReference, repositoryName } from './reference';
import { Credentials, RegistryClient, sha256 } from './registry/client';

export interface PushOptions {
  store: Store;
  /** Where to push (`host/repo:tag`); default: the image reference itself. */
  destination?: string;
  tlsVerify?: boolean;
  /** certs.d directories (`--cert-dir`). */
  certDirs?: string[];
  credentials?: Credentials;
  authFile?: string;
  onProgress?: (event: PushEvent) => void;
  /** Upload in PATCH chunks of this many bytes (0 or unset: one PUT per blob). */
  chunkSize?: number;
  concurrency?: number;
}

export interface PushResult {
  /** Full reference pushed to. */
  reference: string;
  digest: string;
  size: number;
}

interface BlobToPush {
  digest: string;
  size: number;
  /** Progress id: short diffId for layers (as Docker shows), short digest for the config. */
  id: string;
}

/**
 * The manifest to push: the stored original when every blob it names is in the store;
 * otherwise a fresh OCI manifest. (A layer that "already existed" when the image was
 * pulled was unpacked from another image's blob — same diff_id, other compression — so
 * the original's blob may never have been downloaded; the layer's own blob stands in.)
 */
function manifestFor(store: Store, img: ImageRecord): { bytes: Buffer; mediaType: string; manifest: ImageManifest } {
  if (img.manifestDigest && store.blobs.has(img.manifestDigest)) {
    const bytes = store.blobs.readBytes(img.manifestDigest);
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
    const complete =
      manifest.config?.digest === img.id &&
      Array.isArray(manifest.layers) &&
      manifest.layers.every((l) => store.blobs.has(l.digest));
    if (complete) return { bytes, mediaType: img.manifestMediaType ?? manifest.mediaType ?? MEDIA.ociManifest, manifest };
  }
  const configSize = store.blobs.size(img.id);
  if (configSize === undefined) throw new CartonError('ENOTFOUND', `image ${img.id}: config blob is missing from the store`);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: img.id, size: configSize },
    layers: img.layers.map((l) => {
      let digest = l.blobDigest;
      let mediaType = l.mediaType;
      if (!store.blobs.has(digest)) {
        const info = store.layers.get(l.chainId);
        if (info && store.blobs.has(info.blobDigest)) {
          digest = info.blobDigest;
          mediaType = info.mediaType;
        }
      }
      const size = store.blobs.size(digest);
      if (size === undefined) throw new CartonError('ENOTFOUND', `image ${img.id}: no blob in the store for layer ${l.diffId}`);
      return { mediaType: ociLayerType(mediaType), digest, size };
    }),
  };
  return { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: MEDIA.ociManifest, manifest };
}

function ociLayerType(mt: string): string {
  if (mt === MEDIA.dockerLayerGzip) return MEDIA.ociLayerGzip;
  if (mt === MEDIA.dockerLayerTar) return MEDIA.ociLayerTar;
  return mt;
}

/** Repositories on the same registry this image is known to exist in (mount sources). */
function mountSources(img: ImageRecord, dest: ImageReference): string[] {
  const out = new Set<string>();
  for (const n of [...img.repoDigests, ...img.names]) {
    try {
      const r = parseReference(n);
      if (r.domain === dest.domain && r.path !== dest.path) out.add(r.path);
    } catch {
      /* not a reference */
    }
  }
  return [...out];
}

/** Push image `source` (name or id in the store) to `opts.destination` or its own name. */
export async function push(source: string, opts: PushOptions): Promise<PushResult> {
  const { store } = opts;
  const emit = opts.onProgress ?? (() => undefined);
  const img = store.images.resolve(source);
  if (!img) throw new CartonError('ENOTFOUND', `An image does not exist locally with the tag: ${source}`);
  const dest = parseReference(opts.destination ?? source);
  const credentials = opts.credentials ?? lookupCredentials(dest.domain, { authFile: opts.authFile, repository: dest.path });
  const client = new RegistryClient(dest.domain, {
    tlsVerify: opts.tlsVerify,
    certDirs: opts.certDirs,
    credentials,
    onRetry: (what, attempt, reason) => emit({ type: 'retry', what, attempt, reason }),
  });
  emit({ type: 'pushing', repository: repositoryName(dest) });

  const { bytes, mediaType, manifest } = manifestFor(store, img);
  const diffIdByBlob = new Map(img.layers.map((l) => [l.blobDigest, l.diffId]));
  const blobs: BlobToPush[] = [
    ...manifest.layers.map((l) => ({ digest: l.digest, size: l.size, id: (diffIdByBlob.get(l.digest) ?? l.digest).slice(7, 19) })),
    { digest: manifest.config.digest, size: manifest.config.size, id: manifest.config.digest.slice(7, 19) },
  ];
  for (const b of blobs) {
    if (!store.blobs.has(b.digest)) throw new CartonError('ENOTFOUND', `image ${img.id}: blob ${b.digest} is missing from the store`);
    emit({ type: 'layer', id: b.id, status: 'Preparing' });
  }
  const sources = mountSources(img, dest);
  const n = Math.max(1, Math.min(opts.concurrency ?? 3, blobs.length));
  for (const b of blobs.slice(n)) emit({ type: 'layer', id: b.id, status: 'Waiting' });

  const pushOne = async (b: BlobToPush): Promise<void> => {
    if (await client.hasBlob(dest.path, b.digest)) {
      emit({ type: 'layer', id: b.id, status: 'Layer already exists' });
      return;
    }
    for (const from of sources) {
      if (await client.mountBlob(dest.path, b.digest, from)) {
        emit({ type: 'layer', id: b.id, status: 'Mounted', from });
        return;
      }
    }
    let lastEmit = 0;
    await client.uploadBlob(dest.path, b, (start?: number, end?: number) => {
      let done = start ?? 0;
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          done += chunk.length;
          const now = Date.now();
          if (now - lastEmit >= 100) {
            lastEmit = now;
            emit({ type: 'layer', id: b.id, status: 'Pushing', current: done, total: b.size });
          }
          cb(null, chunk);
        },
      });
      const file = fs.createReadStream(store.blobs.path(b.digest), {
        start, end, highWaterMark: 1 << 20,
      });
      return pipeline(file, counter, () => undefined);
    }, { chunkSize: opts.chunkSize });
    emit({ type: 'layer', id: b.id, status: 'Pushed' });
  };

  const queue = [...blobs];
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (queue.length && failed === undefined) {
      const b = queue.shift()!;
      try {
        await pushOne(b);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  if (failed !== undefined) throw asCartonError(failed, 'EREGISTRY');

  const digest = await client.putManifest(dest.path, dest.digest ?? dest.tag ?? 'latest', mediaType, bytes);
  if (digest !== sha256(bytes)) throw new CartonError('EDIGEST', `manifest digest changed while pushing`);
  emit({ type: 'pushed', tag: dest.tag ?? dest.digest ?? 'latest', digest, size: bytes.length });
  // Remember where the image now lives, as Docker records RepoDigests after a push.
  try {
    await store.images.put({
      config: store.images.config(img.id),
      configBytes: store.blobs.readBytes(img.id),
      manifestDigest: img.manifestDigest ?? (await store.blobs.writeBytes(bytes)).digest,
      manifestMediaType: img.manifestMediaType ?? mediaType,
      repoDigests: [`${repositoryName(dest)}@${digest}`],
      names: [],
      layers: img.layers,
    });
  } catch {
    // The push itself succeeded; a record we could not update is not worth failing it.
  }
  return { reference: formatReference({ ...dest, digest: undefined }), digest, size: bytes.length };
}
