/**
 * `pull`: registry → store. Resolve the manifest (an index to this platform), fetch the
 * config, download the missing layer blobs in parallel (bounded) into the store, unpacking
 * each layer while its blob streams in (in parallel, any order: layer directories are
 * independent until overlay stacks them), and record the image last — an interrupted pull
 * therefore never lists a half image, and the next pull reuses every blob and layer that
 * did complete.
 *
 * Verification: the store's blobs.ingest() hashes and size-checks each layer blob as it
 * streams to disk (one hash per byte; nothing is hashed twice here) while the same bytes
 * are unpacked (layers.ensureStreaming, which checks the uncompressed diff_id and makes the
 * layer visible only after the blob verified). Manifests and the config are checked in the client.
 */
import { PassThrough } from 'stream';
import { CartonError, asCartonError } from '../common/errors';
import { chainIds } from '../layer/chain';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../storage/image-types';
import { MEDIA } from '../storage/image-types';
import type { ImageLayerRef, ImageRecord, Store } from '../storage/store';
import { lookupCredentials } from './auth';
import { Platform, formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformMatches, selectManifest } from './platform';
import type { PullEvent } from './progress';
import { familiarString, formatReference, parseReference, repositoryName } from './reference';
import { Credentials, FetchedManifest, RegistryClient, sha256 } from './registry/client';
import { resumableStream } from './registry/resumable';

export interface PullOptions {
  store: Store;
  /** `os/arch[/variant]`; default: this host (linux/amd64 here). */
  platform?: string | Platform;
  /** false: accept self-signed certificates and plain HTTP. Loopback registries never need it. */
  tlsVerify?: boolean;
  /** certs.d directories (`--cert-dir`). */
  certDirs?: string[];
  /** Credentials to use; default: looked up in the auth file (see auth.ts). */
  credentials?: Credentials;
  /** Auth file to read credentials from (`--authfile`). */
  authFile?: string;
  onProgress?: (event: PullEvent) => void;
  /** Layers downloaded at once (default 3, as Docker). */
  concurrency?: number;
  /** Attempts per blob download (connection cut mid-stream, 5xx, 429). Default 4. */
  blobAttempts?: number;
  /** A connection silent for this long counts as broken (default 60 s). */
  timeoutMs?: number;
}

export interface PullResult {
  record: ImageRecord;
  /** Full normalized reference pulled (`docker.io/library/busybox:latest`). */
  reference: string;
  /** Digest of what the tag points at (the index for multi-arch images). */
  digest: string;
  /** Nothing new was downloaded and the name already pointed at this image. */
  upToDate: boolean;
}

const LAYER_TYPES = new Set<string>([
  MEDIA.ociLayerGzip, MEDIA.ociLayerZstd, MEDIA.ociLayerTar, MEDIA.dockerLayerGzip, MEDIA.dockerLayerTar,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
]);

/** Docker's short layer id in progress lines: the first 12 hex digits of the blob digest. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function isIndex(m: FetchedManifest): boolean {
  return m.mediaType === MEDIA.ociIndex || m.mediaType === MEDIA.dockerList;
}

function truncated(err: unknown): boolean {
  return err instanceof CartonError && err.code === 'EDIGEST' && /truncated/.test(err.message);
}

/**
 * The record's view of a layer: the manifest's blob — or, when the layer was reused from
 * another image and that blob was never downloaded, the blob the layer was unpacked from,
 * so save/push always find a blob in the store for every layer.
 */
function layerRef(store: Store, chainId: string, diffId: string, l: Descriptor): ImageLayerRef {
  if (!store.blobs.has(l.digest)) {
    const info = store.layers.get(chainId);
    const size = info ? store.blobs.size(info.blobDigest) : undefined;
    if (info && size !== undefined) return { chainId, diffId, blobDigest: info.blobDigest, mediaType: info.mediaType, size };
  }
  return { chainId, diffId, blobDigest: l.digest, mediaType: l.mediaType, size: l.size };
}

/** At most `n` of the given tasks run at once; the rest queue in call order. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `running` never overshoots.
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pull `refInput` into `opts.store`. Throws CartonError; leaves the store consistent. */
export async function pull(refInput: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(refInput);
  const emit = opts.onProgress ?? (() => undefined);
  const explicitPlatform = opts.platform !== undefined;
  const want: Platform =
    opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : normalizePlatform(opts.platform);
  const credentials = opts.credentials ?? lookupCredentials(ref.domain, { authFile: opts.authFile });
  const client = new RegistryClient(ref.domain, {
    tlsVerify: opts.tlsVerify,
    certDirs: opts.certDirs,
    timeoutMs: opts.timeoutMs,
    credentials,
    onRetry: (what, attempt, reason) => emit({ type: 'retry', what, attempt, reason }),
  });
  const what = `image "${formatReference(ref)}"`;
  emit({ type: 'pulling', tag: ref.digest ?? ref.tag ?? 'latest', repository: ref.path, reference: formatReference(ref) });

  const top = await client.getManifest(ref.path, ref.digest ?? ref.tag!, what);
  let manifest = top;
  if (isIndex(top)) {
    const chosen = selectManifest((top.json as unknown as ImageIndex).manifests ?? [], want, what);
    manifest = await client.getManifest(ref.path, chosen.digest, what);
    if (manifest.digest !== chosen.digest) throw new CartonError('EDIGEST', `${what}: manifest digest mismatch`);
    if (isIndex(manifest)) throw new CartonError('EUNSUPPORTED', `${what}: nested manifest lists are not supported`);
  }
  const m = manifest.json as unknown as ImageManifest;
  if (!m.config?.digest || !Array.isArray(m.layers)) throw new CartonError('EREGISTRY', `${what}: manifest has no config or layers`);
  for (const l of m.layers) {
    if (!LAYER_TYPES.has(l.mediaType)) {
      throw new CartonError('EUNSUPPORTED', `${what}: layer ${l.digest} has unsupported media type ${l.mediaType}`);
    }
  }

  const { store } = opts;
  const configBytes = store.blobs.has(m.config.digest)
    ? store.blobs.readBytes(m.config.digest)
    : await client.getBlobBytes(ref.path, m.config.digest, m.config.size);
  if (sha256(configBytes) !== m.config.digest) throw new CartonError('EDIGEST', `${what}: config blob does not match its digest`);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== m.layers.length) {
    throw new CartonError('EREGISTRY', `${what}: config lists ${diffIds.length} layers, manifest ${m.layers.length}`);
  }
  if (explicitPlatform && !isIndex(top) && config.os && config.architecture) {
    const have = { os: config.os, architecture: config.architecture, variant: config.variant };
    if (!platformMatches(want, have)) {
      throw new CartonError('ENOTFOUND', `${what} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(normalizePlatform(have))}`);
    }
  }

  const chains = chainIds(diffIds);
  const newName = ref.tag ? formatReference({ ...ref, digest: undefined }) : undefined;
  const existing = store.images.get(m.config.digest);
  let downloadedSomething = false;

  // Downloads: bounded parallel, each layer's blob into the store.
  const concurrency = Math.max(1, opts.concurrency ?? 3);
  const attempts = Math.max(1, opts.blobAttempts ?? 4);
  const active = new Set<{ destroy(err?: Error): void }>();
  let failed: unknown;
  const needBlob = m.layers.map((l, i) => !store.layers.get(chains[i]) && !store.blobs.has(l.digest));
  m.layers.forEach((l, i) => {
    const id = shortId(l.digest);
    if (store.layers.get(chains[i])) emit({ type: 'layer', id, status: 'Already exists' });
    else emit({ type: 'layer', id, status: needBlob[i] ? 'Pulling fs layer' : 'Download complete' });
  });
  // As Docker shows it: layers beyond the first `concurrency` downloads wait their turn.
  m.layers.filter((_, i) => needBlob[i]).slice(Math.max(1, opts.concurrency ?? 3)).forEach((l) => {
    emit({ type: 'layer', id: shortId(l.digest), status: 'Waiting' });
  });

  const downloadOne = async (l: Descriptor, tee?: PassThrough): Promise<void> => {
    const id = shortId(l.digest);
    for (let attempt = 1; ; attempt++) {
      let lastEmit = 0;
      // Breaks mid-body resume with Range inside this stream; the store's ingest sees one stream.
      const stream = resumableStream(
        {
          open: async (offset) => {
            const r = await client.openBlob(ref.path, l.digest, l.size, offset);
            return { stream: r.stream, skip: r.skip };
          },
        },
        {
          label: `blob ${l.digest} from ${repositoryName(ref)}`,
          attempts,
          onRetry: (n, reason, offset) => emit({ type: 'layer', id, status: 'Retrying', attempt: n, reason: `${reason} (resuming at byte ${offset})` }),
          onProgress: (done) => {
            const now = Date.now();
            if (now - lastEmit >= 100) {
              lastEmit = now;
              emit({ type: 'layer', id, status: 'Downloading', current: done, total: l.size });
            }
          },
        },
      );
      active.add(stream);
      try {
        // Only the first attempt feeds the unpacker: a download that starts over would feed it
        // twice, so it is then unpacked from the stored blob instead (layers.ensureStreaming).
        await store.blobs.ingest({ digest: l.digest, size: l.size }, stream, { tee: attempt === 1 ? tee : undefined });
        downloadedSomething = true;
        emit({ type: 'layer', id, status: 'Verifying Checksum' });
        emit({ type: 'layer', id, status: 'Download complete' });
        if (tee) emit({ type: 'layer', id, status: 'Extracting' });
        return;
      } catch (err) {
        // A body that ended short without an error (no Content-Length) shows up as truncated: start over.
        if (failed !== undefined || attempt >= attempts || !truncated(err)) {
          if (err instanceof CartonError && err.code === 'EDIGEST' && !truncated(err)) {
            throw new CartonError('EDIGEST', `${what}: digest mismatch: ${err.message}`, { hint: err.hint, cause: err });
          }
          throw err;
        }
        emit({ type: 'layer', id, status: 'Retrying', attempt, reason: (err as Error).message });
        await sleep(Math.min(5000, 250 * 2 ** (attempt - 1)));
      } finally {
        active.delete(stream);
      }
    }
  };

  // Each layer in one pass where it can: the blob streams into the store and, through a tee,
  // into the unpacker at once (bounded by the download slots); the layer becomes visible
  // only once its blob is verified. A blob another layer of this image is already
  // downloading (same digest, different chain) is unpacked from the store afterwards.
  // Layers unpack concurrently and in any order; images.put() below checks the chain.
  const downloadSlot = limiter(concurrency);
  const unpackSlot = limiter(concurrency);
  const blobDownloads = new Map<string, Promise<void>>(); // one download per blob digest
  const fail = (err: unknown): void => {
    if (failed !== undefined) return;
    failed = err;
    for (const s of active) s.destroy(new Error('cancelled: another layer failed'));
  };
  const layerTask = async (l: Descriptor, i: number): Promise<void> => {
    if (store.layers.get(chains[i])) return;
    const id = shortId(l.digest);
    const source = { diffId: diffIds[i], compressedDigest: l.digest, mediaType: l.mediaType };
    const parent = i === 0 ? null : chains[i - 1];
    if (needBlob[i] && !blobDownloads.has(l.digest)) {
      // ingest's ~1 MiB batches pass one by one (object mode: nothing re-concatenated), at
      // most 4 of them waiting between the download and the unpacker
      const tee = new PassThrough({ objectMode: true, highWaterMark: 4 });
      // Its errors reach the unpacker by iteration and the caller through `d`; one emitted
      // after the unpacker stopped listening must not become an uncaught exception.
      tee.on('error', () => undefined);
      const d = downloadSlot(() => (failed === undefined ? downloadOne(l, tee) : Promise.reject(failed)));
      d.catch((err: Error) => tee.destroy(err)); // never started, or failed: the unpacker must not wait
      blobDownloads.set(l.digest, d);
      if (failed !== undefined) throw failed;
      await store.layers.ensureStreaming(source, parent, tee, d);
    } else {
      if (needBlob[i]) await blobDownloads.get(l.digest);
      await unpackSlot(async () => {
        if (failed !== undefined) throw failed;
        emit({ type: 'layer', id, status: 'Extracting' });
        await store.layers.ensure(source, parent);
      });
    }
    downloadedSomething = true;
    emit({ type: 'layer', id, status: 'Pull complete' });
  };
  await Promise.allSettled(m.layers.map((l, i) => layerTask(l, i).catch(fail)));
  if (failed !== undefined) throw asCartonError(failed, 'EREGISTRY');
  const layerRefs: ImageLayerRef[] = m.layers.map((l, i) => layerRef(store, chains[i], diffIds[i], l));

  // The manifest is kept so the image can be pushed again byte for byte; the record goes last.
  await store.blobs.writeBytes(manifest.bytes);
  const upToDate = !downloadedSomething && existing !== undefined && (newName === undefined || existing.names.includes(newName));
  const record = await store.images.put({
    config,
    configBytes,
    manifestDigest: manifest.digest,
    manifestMediaType: manifest.mediaType,
    repoDigests: [`${repositoryName(ref)}@${top.digest}`],
    names: newName ? [newName] : [],
    layers: layerRefs,
  });
  emit({ type: 'digest', digest: top.digest });
  emit({
    type: 'status',
    message: upToDate ? `Image is up to date for ${familiarString(ref)}` : `Downloaded newer image for ${familiarString(ref)}`,
  });
  return { record, reference: formatReference(ref), digest: top.digest, upToDate };
}
