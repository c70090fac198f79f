/**
 * The local image store: the one place images live on this host.
 *
 * Layout under the root (default /var/lib/carton, `--root` changes it):
 *
 *   blobs/sha256/<hex>          content-addressed blobs (layers as pulled, manifests, configs)
 *   layers/<chainHex>/          one unpacked layer per chain id, shared by every image using it:
 *        diff/                  the layer's files (an overlay lowerdir)
 *        layer.json             LayerInfo; the directory appears by one rename when complete
 *   images.json                 image records (names, digests, layer chain); replaced atomically
 *   snapshots/<containerId>/    upper/ work/ merged/ + snapshot.json for a container's rootfs
 *   l/<short>                   short symlinks to layers/<chainHex>/diff (keeps overlay mount data small)
 *   tmp/<pid>-<rand>            in-flight downloads and unpacks; swept when their process is gone
 *   store.lock                  the metadata lock
 *
 * Crash safety: nothing half-written is ever visible under its final name. Blobs are
 * streamed into tmp/, verified (digest and size), fsynced and renamed; layers are unpacked
 * into tmp/ and renamed into layers/ only when complete; images.json is written last, so
 * an image is listed only once every blob and layer it needs is in place. A killed pull
 * leaves only tmp/ debris, removed by the next openStore(); two pulls of the same image
 * race harmlessly (the loser's rename fails and it uses the winner's copy).
 *
 * Writers: the registry client (src/image) ingests blobs and calls layers.ensure() then
 * images.put(); archives (src/archive) do the same from tar files. Readers: the engine
 * resolves images and prepares snapshots.
 */
import type { Readable, Writable } from 'stream';
import type { ImageConfig } from './image-types';
import { openStoreAt } from './store-impl';

export type { ImageConfig } from './image-types';

/** A blob as a manifest describes it; size < 0 means "unknown, don't check". */
export interface BlobRef {
  digest: string;
  size: number;
}

export interface BlobStore {
  /** Absolute directory holding blobs. */
  readonly dir: string;
  has(digest: string): boolean;
  /** Path of the blob file (whether or not it exists). Throws EINVAL_CONFIG on a malformed digest. */
  path(digest: string): string;
  /** Size in bytes, or undefined when the blob is absent. */
  size(digest: string): number | undefined;
  /** A stream of the blob; ENOTFOUND if absent. */
  openRead(digest: string): Readable;
  readBytes(digest: string): Buffer;
  /**
   * Stream `source` into the store, verifying digest and size on the way. On mismatch,
   * throws CartonError('EDIGEST') naming the blob and leaves no file behind. A blob already
   * present is not rewritten (the source is drained and still verified).
   */
  ingest(expected: BlobRef, source: Readable, opts?: IngestOptions): Promise<void>;
  /** Store bytes and return their descriptor (sha256). */
  writeBytes(data: Buffer): Promise<BlobRef>;
  /** Canonical JSON bytes as given (no re-serialisation on read); returns digest and size. */
  writeJSON(value: unknown): Promise<BlobRef & { bytes: Buffer }>;
  readJSON<T>(digest: string): T;
  remove(digest: string): void;
  list(): string[];
}

export interface IngestOptions {
  /**
   * Also write every chunk here as it arrives (backpressure respected), so a layer can be
   * unpacked while its blob downloads (layers.ensureStreaming). Ended once the blob is
   * verified; destroyed with the error when ingest fails.
   */
  tee?: Writable;
}

/** What layers.ensure() needs to know about one layer of an image. */
export interface LayerSource {
  /** sha256 of the uncompressed tar (config rootfs.diff_ids[i]). */
  diffId: string;
  /** Digest of the blob in the store to unpack from; defaults to diffId (uncompressed). */
  compressedDigest?: string;
  /** Layer media type: picks gzip / zstd / none. Unknown types are sniffed by magic bytes. */
  mediaType?: string;
}

export interface LayerInfo {
  chainId: string;
  diffId: string;
  parentChainId: string | null;
  /** Blob this layer was unpacked from, and its media type. */
  blobDigest: string;
  mediaType: string;
  /** Absolute path of the layer's files (overlay lowerdir). */
  diffDir: string;
  /** Uncompressed tar size in bytes. */
  size: number;
  createdAt: string;
}

export interface LayerStore {
  /**
   * Make sure the layer `chain(parentChainId, diffId)` is unpacked; unpack it from its
   * blob if not. Verifies the diffId while unpacking (EDIGEST on mismatch). Idempotent and
   * safe against concurrent callers in other processes. The parent need not be unpacked yet:
   * the layers of one image may be ensured concurrently, in any order.
   */
  ensure(layer: LayerSource, parentChainId: string | null): Promise<LayerInfo>;
  /**
   * ensure() in one pass with the download: unpacks from `compressed` (the tee of
   * blobs.ingest) while the blob is written, and makes the layer visible only after
   * `blobStored` resolved (the blob verified and in the store). When unpacking from the
   * stream fails, the blob's own verdict comes first (a digest mismatch is reported as
   * such); a stored blob is then unpacked once more from the store (a retried download
   * restarts the stream). Nothing is left behind on failure.
   */
  ensureStreaming(layer: LayerSource, parentChainId: string | null, compressed: Readable, blobStored: Promise<void>): Promise<LayerInfo>;
  get(chainId: string): LayerInfo | undefined;
  list(): LayerInfo[];
  /**
   * Remove layers (and their blobs) no image and no snapshot references. Returns removed
   * chain ids. Takes the store lock if free; skips (returns []) while another process holds
   * it. Unreferenced layers younger than 10 minutes are kept: they may belong to a pull that
   * has not recorded its image yet (rmi removes its image's layers at once).
   */
  prune(): string[];
}

export interface ImageLayerRef {
  chainId: string;
  diffId: string;
  blobDigest: string;
  mediaType: string;
  /** Size of the blob as stored (compressed size for compressed layers). */
  size: number;
}

export interface ImageRecord {
  /** Config digest ("sha256:…") — the image ID, as Docker uses it. */
  id: string;
  /** Digest of the manifest the image was pulled/loaded with, when known. */
  manifestDigest?: string;
  manifestMediaType?: string;
  /** "docker.io/library/alpine@sha256:…" */
  repoDigests: string[];
  /** Full normalised references: "docker.io/library/alpine:latest". */
  names: string[];
  layers: ImageLayerRef[];
  /** From the config, for listing without reading the config blob. */
  created?: string;
  architecture?: string;
  os?: string;
  /** Sum of uncompressed layer sizes (Docker's "SIZE"). */
  size: number;
  addedAt: string;
}

export interface ImagePut {
  config: ImageConfig;
  /** Exact config bytes when known (keeps the digest); otherwise serialised from `config`. */
  configBytes?: Buffer;
  manifestDigest?: string;
  manifestMediaType?: string;
  repoDigests?: string[];
  names?: string[];
  /** One per config diff_id, already ensure()d. */
  layers: ImageLayerRef[];
}

/** Returns the ids of containers using the image (empty when unused). */
export type InUseCheck = (imageId: string) => string[];

export interface ImageStore {
  /** Record an image (merging names/digests into an existing record with the same id). */
  put(image: ImagePut): Promise<ImageRecord>;
  list(): ImageRecord[];
  get(id: string): ImageRecord | undefined;
  config(id: string): ImageConfig;
  /**
   * Find an image by full name, short name (through the store's normaliser), id, id prefix
   * (≥ 1 hex char, unambiguous), "sha256:"+prefix, or repo digest. undefined if none.
   */
  resolve(query: string): ImageRecord | undefined;
  /** Add a name (moving it off any other image). */
  tag(idOrName: string, name: string): Promise<void>;
  /** Remove a name; returns the record (which may now have no names). */
  untag(name: string): Promise<ImageRecord>;
  /**
   * Docker's rmi: by name removes that name, and deletes the image when no names remain;
   * by id deletes the image (refusing multi-name images unless force). Refuses an image a
   * container uses (ESTATE) unless force. Returns "Untagged: …" / "Deleted: …" lines.
   */
  remove(query: string, opts?: { force?: boolean }): Promise<string[]>;
  /** The engine registers who uses images (containers); checked by remove(). */
  setInUseCheck(check: InUseCheck): void;
  /** Containers using the image, through the registered check. */
  usedBy(imageId: string): string[];
}

export interface Snapshot {
  containerId: string;
  /** Merged overlay directory: the container's root filesystem. */
  rootfs: string;
  upperDir: string;
  workDir: string;
  imageId: string;
  /** Unmount and delete everything of this snapshot. */
  cleanup(): Promise<void>;
}

export interface SnapshotStore {
  /** Mount an overlay of the image's layers (any number) with a fresh upper dir. */
  prepare(containerId: string, imageIdOrRecord: string | ImageRecord): Promise<Snapshot>;
  /** Re-mount an existing snapshot (after reboot) or return it if mounted. */
  mount(containerId: string): Promise<Snapshot>;
  unmount(containerId: string): Promise<void>;
  /** Unmount (if mounted) and delete; no error if absent. */
  remove(containerId: string): Promise<void>;
  list(): string[];
}

export type LockMode = 'ex' | 'sh';
export type Release = () => void;

export interface StoreOptions {
  /** Turns a short name ("alpine") into a full one ("docker.io/library/alpine:latest") for resolve(). */
  normalizeName?: (name: string) => string;
}

export interface Store {
  readonly root: string;
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly snapshots: SnapshotStore;
  /** Take the store lock (blocks until granted). Metadata changes hold 'ex'. */
  lock(mode?: LockMode): Promise<Release>;
  withLock<T>(mode: LockMode, fn: () => Promise<T> | T): Promise<T>;
  /** The store's name normaliser ("alpine" → "docker.io/library/alpine:latest"). */
  normalizeName(name: string): string;
  /** A private temp directory under the store (same filesystem as blobs/layers). */
  tempDir(prefix: string): string;
}

export const DEFAULT_ROOT = '/var/lib/carton';

/** Open (creating if needed) the store at `root`, sweeping debris of dead writers. */
export function openStore(root: string = DEFAULT_ROOT, options: StoreOptions = {}): Store {
  return openStoreAt(root, options);
}
