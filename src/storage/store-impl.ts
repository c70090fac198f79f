/** Wires the store's parts together (implementation behind store.ts). */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { FileBlobStore } from './blobs';
import { ownerAlive, ownerTag, uniqueSuffix } from './fsutil';
import { defaultNormalizeName, FileImageStore } from './images';
import { FileLayerStore } from './layers';
import { StoreLock } from './lock';
import { FileSnapshotStore } from './snapshots';
import type { LockMode, Release, Store, StoreOptions } from './store';

/** Unreferenced blobs younger than this may belong to a pull in progress: keep them. */
const BLOB_GRACE_MS = 10 * 60 * 1000;

export function openStoreAt(rootArg: string, options: StoreOptions): Store {
  const root = path.resolve(rootArg);
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(root, 'tmp'), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CartonError('EKERNEL', `image store ${root}: ${nodeErrorReason(err)}`, { cause: err, hint: 'check --root' });
  }
  sweepTemp(root);
  const lock = new StoreLock(path.join(root, 'store.lock'));
  const tag = ownerTag();
  const tempDir = (prefix: string): string => {
    const dir = path.join(root, 'tmp', `${tag}${prefix}-${uniqueSuffix()}`);
    fs.mkdirSync(dir, 0o700);
    return dir;
  };
  const withLock = async <T>(mode: LockMode, fn: () => Promise<T> | T): Promise<T> => {
    const release = await lock.acquire(mode);
    try {
      return await fn();
    } finally {
      release();
    }
  };
  const normalizeName = options.normalizeName ?? defaultNormalizeName;
  const blobs = new FileBlobStore(root, tempDir);
  let images!: FileImageStore;
  let snapshots!: FileSnapshotStore;
  const referenced = () => {
    const chains = snapshots.heldChains();
    const blobRefs = new Set<string>();
    for (const img of images.read().images) {
      blobRefs.add(img.id);
      if (img.manifestDigest) blobRefs.add(img.manifestDigest);
      for (const l of img.layers) {
        chains.add(l.chainId);
        blobRefs.add(l.blobDigest);
      }
    }
    return { chains, blobs: blobRefs };
  };
  const layers = new FileLayerStore(root, blobs, tempDir, referenced);
  /** Drop layers and old blobs nothing references. Caller holds the lock. */
  const collect = (drop: { blobs?: string[]; chains?: string[] } = {}): string[] => {
    const dropNow = drop.blobs ?? [];
    const removed = layers.prune(new Set(drop.chains ?? []));
    const refs = referenced();
    for (const info of layers.list()) refs.blobs.add(info.blobDigest);
    const now = Date.now();
    for (const digest of blobs.list()) {
      if (refs.blobs.has(digest)) continue;
      try {
        const recent = now - fs.statSync(blobs.path(digest)).mtimeMs < BLOB_GRACE_MS;
        if (recent && !dropNow.includes(digest)) continue;
      } catch {
        continue;
      }
      blobs.remove(digest);
    }
    return removed;
  };
  images = new FileImageStore({
    root,
    blobs,
    layers,
    withLock: (fn) => withLock('ex', fn),
    normalizeName,
    collect,
  });
  // a removed snapshot may have been the last holder of a deleted image's layers
  const released = (imageId: string, chains: string[]): void => {
    if (images.get(imageId)) return;
    const release = lock.tryAcquireSync();
    if (!release) return;
    try {
      collect({ chains });
    } finally {
      release();
    }
  };
  snapshots = new FileSnapshotStore(root, layers, images, tempDir, released);
  return {
    root,
    blobs,
    images,
    snapshots,
    layers: {
      ensure: (l, p) => layers.ensure(l, p),
      ensureStreaming: (l, p, c, stored) => layers.ensureStreaming(l, p, c, stored),
      get: (c) => layers.get(c),
      list: () => layers.list(),
      prune: () => {
        // synchronous in the interface: take the lock only if it is free (or ours); when
        // another process is changing the store, skip — pruning is best effort
        const release = lock.tryAcquireSync();
        if (!release) return [];
        try {
          return collect();
        } finally {
          release();
        }
      },
    },
    lock: (mode: LockMode = 'ex'): Promise<Release> => lock.acquire(mode),
    withLock,
    tempDir,
    normalizeName,
  };
}

/** Remove tmp/ entries whose owning process is gone (a killed pull's leftovers). */
function sweepTemp(root: string): void {
  const tmp = path.join(root, 'tmp');
  for (const name of fs.readdirSync(tmp)) {
    if (ownerAlive(name)) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      /* best effort: retried by the next open */
    }
  }
}
