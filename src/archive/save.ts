/**
 * `carton save`: images to a docker-archive (what `docker load` and `podman load` read:
 * manifest.json, repositories, <config>.json and one uncompressed <diffId>.tar per layer)
 * or to an OCI image layout (index.json, oci-layout, blobs/ with the blobs as stored), as a
 * tar or a directory. Output goes to a temp name beside the target and is renamed into
 * place when complete, so a failed save leaves no half archive.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { CartonError, nodeErrorReason } from '../common/errors';
import { decompressFile, detectCompression } from '../layer/decompress';
import { encodeHeader, END_OF_ARCHIVE, padding } from '../layer/tar-writer';
import type { Descriptor, ImageManifest } from '../storage/image-types';
import { MEDIA } from '../storage/image-types';
import type { ImageRecord, Store } from '../storage/store';

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir';

export interface SaveItem {
  image: ImageRecord;
  /** Names to record for it (full references); empty saves it unnamed. */
  names: string[];
}

/** Resolve what the user typed: a name saves that name; an id saves the image unnamed (as Docker does). */
export function saveItems(store: Store, queries: string[]): SaveItem[] {
  const items: SaveItem[] = [];
  for (const q of queries) {
    const image = store.images.resolve(q);
    if (!image) throw new CartonError('ENOTFOUND', `No such image: ${q}`);
    let full: string | undefined;
    try {
      full = store.normalizeName(q);
    } catch {
      full = undefined;
    }
    const name = image.names.find((n) => n === q || n === full);
    const existing = items.find((i) => i.image.id === image.id);
    if (existing) {
      if (name && !existing.names.includes(name)) existing.names.push(name);
    } else items.push({ image, names: name ? [name] : [] });
  }
  return items;
}

/** docker.io/library/alpine:latest → alpine:latest, as `docker save` writes RepoTags. */
export function familiar(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

export async function saveImages(store: Store, items: SaveItem[], target: string, format: SaveFormat): Promise<void> {
  if (items.length === 0) throw new CartonError('EINVAL_CONFIG', 'save: no images given');
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.carton-tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    if (format === 'oci-dir') {
      fs.mkdirSync(tmp, 0o755);
      await writeOci(store, items, new DirSink(tmp));
    } else {
      const sink = new TarFileSink(tmp);
      try {
        if (format === 'docker-archive') await writeDocker(store, items, sink);
        else await writeOci(store, items, sink);
        sink.finish();
      } finally {
        sink.close();
      }
    }
    if (format === 'oci-dir' && fs.existsSync(target)) fs.rmSync(target, { recursive: true });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (err instanceof CartonError) throw err;
    throw new CartonError('EKERNEL', `save to ${target}: ${nodeErrorReason(err)}`, { cause: err });
  }
}

interface Sink {
  file(name: string, data: Buffer): void;
  stream(name: string, size: number, chunks: AsyncIterable<Buffer>): Promise<void>;
  has(name: string): boolean;
}

class TarFileSink implements Sink {
  private fd: number;
  private written = new Set<string>();
  private dirs = new Set<string>();

  constructor(file: string) {
    this.fd = fs.openSync(file, 'wx', 0o644);
  }

  has(name: string): boolean {
    return this.written.has(name);
  }

  private write(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
  }

  private parents(name: string): void {
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (this.dirs.has(d)) continue;
      this.dirs.add(d);
      this.write(encodeHeader({ name: d, type: 'dir', mode: 0o755, mtime: 0 }));
    }
  }

  file(name: string, data: Buffer): void {
    this.parents(name);
    this.written.add(name);
    this.write(encodeHeader({ name, type: 'file', mode: 0o644, size: data.length, mtime: 0 }));
    this.write(data);
    this.write(padding(data.length));
  }

  async stream(name: string, size: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    this.parents(name);
    this.written.add(name);
    this.write(encodeHeader({ name, type: 'file', mode: 0o644, size, mtime: 0 }));
    let n = 0;
    for await (const c of chunks) {
      n += c.length;
      if (n > size) break;
      this.write(c);
    }
    if (n !== size) throw new CartonError('EINTERNAL', `save: ${name}: expected ${size} bytes, read ${n}`);
    this.write(padding(size));
  }

  finish(): void {
    this.write(END_OF_ARCHIVE);
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

class DirSink implements Sink {
  constructor(private readonly root: string) {}

  has(name: string): boolean {
    return fs.existsSync(path.join(this.root, name));
  }

  file(name: string, data: Buffer): void {
    fs.mkdirSync(path.dirname(path.join(this.root, name)), { recursive: true });
    fs.writeFileSync(path.join(this.root, name), data);
  }

  async stream(name: string, _size: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    const file = path.join(this.root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, 'wx', 0o644);
    try {
      for await (const c of chunks) fs.writeSync(fd, c);
    } finally {
      fs.closeSync(fd);
    }
  }
}

async function writeDocker(store: Store, items: SaveItem[], sink: Sink): Promise<void> {
  const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, names } of items) {
    const configName = `${image.id.slice(7)}.json`;
    if (!sink.has(configName)) sink.file(configName, store.blobs.readBytes(image.id));
    const layerNames: string[] = [];
    for (const l of image.layers) {
      const name = `${l.diffId.slice(7)}.tar`;
      layerNames.push(name);
      if (sink.has(name)) continue;
      const info = store.layers.get(l.chainId);
      if (!info) throw new CartonError('ENOTFOUND', `image ${image.id}: layer ${l.chainId} is missing from the store`);
      const blob = store.blobs.path(l.blobDigest);
      const label = `layer ${l.blobDigest}`;
      await sink.stream(name, info.size, decompressFile(blob, label));
    }
    // full names: Podman reads familiar ones as localhost/…, Docker accepts both
    const tags = names;
    manifest.push({ Config: configName, RepoTags: tags.length ? tags : null, Layers: layerNames });
    const top = image.layers.length ? image.layers[image.layers.length - 1].diffId.slice(7) : image.id.slice(7);
    for (const t of tags) {
      const at = t.lastIndexOf(':');
      (repositories[t.slice(0, at)] ??= {})[t.slice(at + 1)] = top;
    }
  }
  sink.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
  if (Object.keys(repositories).length) sink.file('repositories', Buffer.from(JSON.stringify(repositories)));
}

const OCI_LAYER: Record<string, string> = {
  [MEDIA.dockerLayerTar]: MEDIA.ociLayerTar,
  [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
};

/** The stored manifest, or one made for images that came without (docker-archive, import). */
function manifestOf(store: Store, image: ImageRecord): { bytes: Buffer; desc: Descriptor } {
  if (image.manifestDigest && store.blobs.has(image.manifestDigest)) {
    const bytes = store.blobs.readBytes(image.manifestDigest);
    return { bytes, desc: { mediaType: image.manifestMediaType ?? MEDIA.ociManifest, digest: image.manifestDigest, size: bytes.length } };
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: image.id, size: store.blobs.size(image.id) ?? 0 },
    layers: image.layers.map((l) => ({
      mediaType: OCI_LAYER[l.mediaType] ?? mediaTypeOfBlob(store, l.blobDigest),
      digest: l.blobDigest,
      size: store.blobs.size(l.blobDigest) ?? l.size,
    })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  return { bytes, desc: { mediaType: MEDIA.ociManifest, digest, size: bytes.length } };
}

function mediaTypeOfBlob(store: Store, digest: string): string {
  const kind = detectCompression(store.blobs.path(digest));
  return kind === 'gzip' ? MEDIA.ociLayerGzip : kind === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerTar;
}

async function writeOci(store: Store, items: SaveItem[], sink: Sink): Promise<void> {
  sink.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] } = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
  const blob = async (digest: string): Promise<void> => {
    const name = `blobs/sha256/${digest.slice(7)}`;
    if (sink.has(name)) return;
    const size = store.blobs.size(digest);
    if (size === undefined) throw new CartonError('ENOTFOUND', `blob ${digest} is missing from the store`);
    await sink.stream(name, size, store.blobs.openRead(digest) as AsyncIterable<Buffer>);
  };
  for (const { image, names } of items) {
    await blob(image.id);
    for (const l of image.layers) await blob(l.blobDigest);
    const { bytes, desc } = manifestOf(store, image);
    const mName = `blobs/sha256/${desc.digest.slice(7)}`;
    if (!sink.has(mName)) sink.file(mName, bytes);
    if (names.length === 0) index.manifests.push(desc);
    for (const n of names) {
      index.manifests.push({ ...desc, annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': n } });
    }
  }
  sink.file('index.json', Buffer.from(JSON.stringify(index)));
}

/**
 * `docker save` without -o: the archive to a stream (stdout). Spooled through a temp file
 * in the store first, so an error while collecting layers sends nothing rather than half
 * an archive.
 */
export async function saveImagesToStream(store: Store, items: SaveItem[], out: NodeJS.WritableStream, format: Exclude<SaveFormat, 'oci-dir'>): Promise<void> {
  const dir = store.tempDir('save');
  try {
    const file = path.join(dir, 'archive.tar');
    await saveImages(store, items, file, format);
    await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), out, { end: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
