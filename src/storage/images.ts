/**
 * Image records in images.json, read fresh for every query and replaced atomically under the
 * store lock for every change. An image is put only after its config blob is stored and all
 * its layers are unpacked, so a listed image is always complete.
 */
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { chainIds } from '../layer/chain';
import { readJSONFile, writeFileAtomic } from './fsutil';
import type { ImageConfig } from './image-types';
import type { BlobStore, ImagePut, ImageRecord, ImageStore, InUseCheck, LayerStore } from './store';

interface ImageDB {
  version: 1;
  images: ImageRecord[];
}

export interface ImageStoreDeps {
  root: string;
  blobs: BlobStore;
  layers: LayerStore;
  withLock: <T>(fn: () => Promise<T> | T) => Promise<T>;
  normalizeName: (name: string) => string;
  /** Remove layers/blobs nothing references any more (called with the lock held). */
  collect: (drop: { blobs?: string[]; chains?: string[] }) => string[];
}

export class FileImageStore implements ImageStore {
  private readonly file: string;
  private inUse: InUseCheck = () => [];

  constructor(private readonly deps: ImageStoreDeps) {
    this.file = path.join(deps.root, 'images.json');
  }

  read(): ImageDB {
    return readJSONFile<ImageDB>(this.file) ?? { version: 1, images: [] };
  }

  private write(db: ImageDB): void {
    try {
      writeFileAtomic(this.file, JSON.stringify(db, null, 1));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CartonError('EKERNEL', `image store ${this.file}: ${nodeErrorReason(err)}`, {
        cause: err,
        hint: code === 'ENOSPC' ? 'free space in the image store (--root) and retry; the previous image list is intact' : undefined,
      });
    }
  }

  setInUseCheck(check: InUseCheck): void {
    this.inUse = check;
  }

  usedBy(imageId: string): string[] {
    return this.inUse(imageId);
  }

  list(): ImageRecord[] {
    return this.read().images;
  }

  get(id: string): ImageRecord | undefined {
    return this.list().find((i) => i.id === id);
  }

  config(id: string): ImageConfig {
    return this.deps.blobs.readJSON<ImageConfig>(id);
  }

  async put(image: ImagePut): Promise<ImageRecord> {
    const { blobs, layers } = this.deps;
    const bytes = image.configBytes ?? Buffer.from(JSON.stringify(image.config));
    const { digest: id } = await blobs.writeBytes(bytes);
    const diffIds = image.config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== image.layers.length) {
      throw new CartonError('EINVAL_CONFIG', `image ${id}: config has ${diffIds.length} diff_ids but ${image.layers.length} layers were given`);
    }
    const chains = chainIds(diffIds);
    let size = 0;
    image.layers.forEach((l, i) => {
      if (l.diffId !== diffIds[i] || l.chainId !== chains[i]) {
        throw new CartonError('EINVAL_CONFIG', `image ${id}: layer ${i} (${l.diffId}) does not match rootfs.diff_ids[${i}]`);
      }
      const info = layers.get(l.chainId);
      if (!info) throw new CartonError('ENOTFOUND', `image ${id}: layer ${l.chainId} is not unpacked`);
      size += info.size;
    });
    return this.deps.withLock(() => {
      const db = this.read();
      const names = (image.names ?? []).map((n) => this.deps.normalizeName(n));
      for (const other of db.images) other.names = other.names.filter((n) => !names.includes(n));
      let rec = db.images.find((i) => i.id === id);
      if (!rec) {
        rec = {
          id,
          repoDigests: [],
          names: [],
          layers: image.layers,
          created: image.config.created,
          architecture: image.config.architecture,
          os: image.config.os,
          size,
          addedAt: new Date().toISOString(),
        };
        db.images.push(rec);
      }
      if (image.manifestDigest) {
        // a manifest and its layer blobs go together: the last one recorded is what push/save use
        rec.manifestDigest = image.manifestDigest;
        rec.manifestMediaType = image.manifestMediaType;
        rec.layers = image.layers;
      }
      rec.names = [...new Set([...rec.names, ...names])];
      rec.repoDigests = [...new Set([...rec.repoDigests, ...(image.repoDigests ?? [])])];
      this.write(db);
      return rec;
    });
  }

  resolve(query: string): ImageRecord | undefined {
    return resolveIn(this.list(), query, this.deps.normalizeName);
  }

  async tag(idOrName: string, name: string): Promise<void> {
    const full = this.deps.normalizeName(name);
    await this.deps.withLock(() => {
      const db = this.read();
      const target = resolveIn(db.images, idOrName, this.deps.normalizeName);
      if (!target) throw notFound(idOrName);
      for (const i of db.images) i.names = i.names.filter((n) => n !== full);
      const rec = db.images.find((i) => i.id === target.id)!;
      rec.names.push(full);
      this.write(db);
    });
  }

  async untag(name: string): Promise<ImageRecord> {
    const full = this.deps.normalizeName(name);
    return this.deps.withLock(() => {
      const db = this.read();
      const rec = db.images.find((i) => i.names.includes(full));
      if (!rec) throw notFound(name);
      rec.names = rec.names.filter((n) => n !== full);
      this.write(db);
      return rec;
    });
  }

  async remove(query: string, opts: { force?: boolean } = {}): Promise<string[]> {
    const force = opts.force ?? false;
    return this.deps.withLock(() => {
      const db = this.read();
      const rec = resolveIn(db.images, query, this.deps.normalizeName);
      if (!rec) throw notFound(query);
      const out: string[] = [];
      const short = rec.id.slice(7, 19);
      const byName = rec.names.find((n) => n === query || n === this.deps.normalizeName(query));
      const users = this.inUse(rec.id);
      if (byName && rec.names.length > 1) {
        rec.names = rec.names.filter((n) => n !== byName);
        this.write(db);
        return [`Untagged: ${byName}`];
      }
      if (!byName && rec.names.length > 1 && !force) {
        throw new CartonError('ESTATE', `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
      }
      if (users.length > 0) {
        if (!force) {
          const what = byName ? `repository reference "${query}"` : short;
          throw new CartonError('ESTATE', `conflict: unable to remove ${what} (must force) - container ${users[0].slice(0, 12)} is using its referenced image ${short}`);
        }
        // forced while in use: untag but keep the image for its containers, as Docker does
        for (const n of rec.names) out.push(`Untagged: ${n}`);
        rec.names = [];
        this.write(db);
        return out;
      }
      for (const n of rec.names) out.push(`Untagged: ${n}`);
      for (const d of rec.repoDigests) out.push(`Untagged: ${d}`);
      db.images = db.images.filter((i) => i !== rec);
      this.write(db);
      out.push(`Deleted: ${rec.id}`);
      for (const chain of this.deps.collect({
        blobs: [rec.id, ...(rec.manifestDigest ? [rec.manifestDigest] : []), ...rec.layers.map((l) => l.blobDigest)],
        chains: rec.layers.map((l) => l.chainId),
      })) out.push(`Deleted: ${chain}`);
      return out;
    });
  }
}

function notFound(query: string): CartonError {
  return new CartonError('ENOTFOUND', `No such image: ${query}`);
}

/** Name, normalised name, repo digest, full id, or unambiguous id prefix. */
export function resolveIn(images: ImageRecord[], query: string, normalize: (n: string) => string): ImageRecord | undefined {
  const exact = images.find((i) => i.names.includes(query) || i.repoDigests.includes(query) || i.id === query);
  if (exact) return exact;
  let full: string | undefined;
  try {
    full = normalize(query);
  } catch {
    full = undefined;
  }
  if (full) {
    const byName = images.find((i) => i.names.includes(full!) || i.repoDigests.includes(full!));
    if (byName) return byName;
  }
  const hex = query.startsWith('sha256:') ? query.slice(7) : query;
  if (/^[a-f0-9]{1,64}$/.test(hex) && (hex.length >= 3 || query.startsWith('sha256:'))) {
    const matches = images.filter((i) => i.id.slice(7).startsWith(hex));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new CartonError('EINVAL_CONFIG', `image id prefix '${query}' is ambiguous`);
  }
  return undefined;
}

/** A Docker-like default when the caller gives no normaliser: alpine → docker.io/library/alpine:latest. */
export function defaultNormalizeName(name: string): string {
  let n = name;
  const slash = n.indexOf('/');
  const first = slash === -1 ? '' : n.slice(0, slash);
  if (slash === -1) n = `docker.io/library/${n}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') n = `docker.io/${n}`;
  const lastPart = n.slice(n.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !n.includes('@')) n = `${n}:latest`;
  return n;
}
