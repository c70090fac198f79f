/**
 * `carton load`: images from a docker-archive (manifest.json + config + layer tars, as
 * `docker save`, `podman save` and `skopeo copy docker-archive:` write) or an OCI image
 * layout (index.json + blobs/, as a tar or a directory). Every blob is verified against its
 * digest on the way in; an image is recorded only after all its layers are unpacked, so a
 * bad archive adds no image (already-unpacked good layers stay, for prune to collect).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import * as zlib from 'zlib';
import { pipeline } from 'stream/promises';
import { CartonError } from '../common/errors';
import { chainId, isDigest } from '../layer/chain';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../storage/image-types';
import { MEDIA } from '../storage/image-types';
import type { ImageLayerRef, ImageRecord, Store } from '../storage/store';
import { detectCompression } from '../layer/decompress';
import { ArchiveSource, DirArchive, TarArchive } from './source';

export interface LoadOptions {
  /** Platform to pick from multi-platform OCI indexes (default linux/<host arch>). */
  os?: string;
  architecture?: string;
  /** Name for images whose archive gives none (an OCI layout whose ref.name is only a tag). */
  name?: string;
  /** How errors name the archive (default "archive <path>"). */
  label?: string;
}

export interface LoadResult {
  images: ImageRecord[];
  /** Docker's output: "Loaded image: NAME" per name, "Loaded image ID: sha256:…" for unnamed ones. */
  lines: string[];
}

export async function loadArchive(store: Store, file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const label = opts.label ?? `archive ${file}`;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CartonError('ENOTFOUND', `${label}: no such file or directory`);
  }
  const cleanup: string[] = [];
  try {
    let src: ArchiveSource;
    if (st.isDirectory()) src = new DirArchive(file, label);
    else {
      let tarFile = file;
      const kind = detectCompression(file);
      if (kind !== 'none') {
        const dir = store.tempDir('load');
        cleanup.push(dir);
        tarFile = path.join(dir, 'archive.tar');
        await decompressTo(file, kind, tarFile, label);
      }
      src = await TarArchive.open(tarFile, label);
    }
    let loaded: Loaded[];
    if (src.has('manifest.json')) loaded = await loadDockerArchive(store, src);
    else if (src.has('index.json')) loaded = await loadOciLayout(store, src, opts);
    else {
      throw new CartonError('EINVAL_CONFIG', `${label}: not an image archive (no manifest.json or index.json)`, {
        hint: 'load takes archives written by `docker save`, `podman save` or `skopeo copy` (docker-archive, oci-archive, oci)',
      });
    }
    const lines: string[] = [];
    for (const { record, names } of loaded) {
      const full = names.map((n) => store.normalizeName(n));
      if (full.length) for (const n of full) lines.push(`Loaded image: ${n}`);
      else lines.push(`Loaded image ID: ${record.id}`);
    }
    return { images: loaded.map((l) => l.record), lines };
  } finally {
    for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
  }
}

async function decompressTo(file: string, kind: 'gzip' | 'zstd', out: string, label: string): Promise<void> {
  try {
    if (kind === 'gzip') {
      await pipeline(fs.createReadStream(file), zlib.createGunzip(), fs.createWriteStream(out));
      return;
    }
    const child = spawn('zstd', ['-dcq', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    await pipeline(child.stdout, fs.createWriteStream(out));
    const code = await closed;
    if (code !== 0) throw new Error(stderr.trim() || `zstd exit ${code}`);
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `${label}: cannot decompress: ${(err as Error).message}`, { cause: err });
  }
}

/** An image recorded from the archive and the names this archive gave it. */
interface Loaded {
  record: ImageRecord;
  names: string[];
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function loadDockerArchive(store: Store, src: ArchiveSource): Promise<Loaded[]> {
  const entries = parseJSON<DockerManifestEntry[]>(src, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new CartonError('EINVAL_CONFIG', `${src.label}: manifest.json lists no images`);
  }
  const out: Loaded[] = [];
  for (const [i, e] of entries.entries()) {
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')
      || (e.RepoTags != null && (!Array.isArray(e.RepoTags) || !e.RepoTags.every((t) => typeof t === 'string')))) {
      throw new CartonError('EINVAL_CONFIG', `${src.label}: manifest.json[${i}] needs Config, Layers (file names) and RepoTags (names or null)`);
    }
    const configBytes = src.read(e.Config);
    const config = parseConfig(configBytes, `${src.label}: ${e.Config}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== e.Layers.length) {
      throw new CartonError('EINVAL_CONFIG', `${src.label}: manifest.json[${i}] has ${e.Layers.length} layers but its config has ${diffIds.length} diff_ids`);
    }
    const layers: ImageLayerRef[] = [];
    let parent: string | null = null;
    for (const [j, name] of e.Layers.entries()) {
      const blob = await ingestMember(store, src, name, diffIds[j]);
      const info = await store.layers.ensure({ diffId: diffIds[j], compressedDigest: blob.digest, mediaType: blob.mediaType }, parent);
      parent = info.chainId;
      layers.push({ chainId: info.chainId, diffId: diffIds[j], blobDigest: blob.digest, mediaType: blob.mediaType, size: blob.size });
    }
    const names = e.RepoTags ?? [];
    out.push({ record: await store.images.put({ config, configBytes, names, layers }), names });
  }
  return out;
}

/** Ingest a layer member, uncompressed (its digest is the diffId) or compressed (hashed first). */
async function ingestMember(store: Store, src: ArchiveSource, name: string, diffId: string): Promise<{ digest: string; size: number; mediaType: string }> {
  const size = src.size(name);
  const head = src.head(name, 4);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const zstd = head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
  let digest = diffId;
  let mediaType: string = MEDIA.dockerLayerTar;
  if (gzip || zstd) {
    const hash = crypto.createHash('sha256');
    for await (const c of src.stream(name)) hash.update(c as Buffer);
    digest = `sha256:${hash.digest('hex')}`;
    mediaType = gzip ? MEDIA.dockerLayerGzip : MEDIA.ociLayerZstd;
  }
  if (!store.blobs.has(digest)) await store.blobs.ingest({ digest, size }, src.stream(name));
  return { digest, size, mediaType };
}

function blobName(digest: string): string {
  if (!isDigest(digest)) throw new CartonError('EINVAL_CONFIG', `unsupported digest '${digest}'`);
  return `blobs/sha256/${digest.slice(7)}`;
}

/** Read a small blob of an OCI layout and check its digest. */
function readVerified(src: ArchiveSource, d: Descriptor): Buffer {
  const bytes = src.read(blobName(d.digest));
  const actual = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== d.digest || (d.size !== undefined && d.size !== bytes.length)) {
    throw new CartonError('EDIGEST', `${src.label}: blob ${d.digest} has digest ${actual} (${bytes.length} bytes)`);
  }
  return bytes;
}

async function loadOciLayout(store: Store, src: ArchiveSource, opts: LoadOptions): Promise<Loaded[]> {
  const index = parseJSON<ImageIndex>(src, 'index.json');
  if (!index || !Array.isArray(index.manifests)) throw new CartonError('EINVAL_CONFIG', `${src.label}: index.json has no manifests`);
  const want = { os: opts.os ?? 'linux', architecture: opts.architecture ?? hostArch() };
  const out: Loaded[] = [];
  for (const top of index.manifests) {
    const name = imageName(top, opts.name);
    const manifestDesc = pickManifest(src, top, want);
    const manifestBytes = readVerified(src, manifestDesc);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw new CartonError('EINVAL_CONFIG', `${src.label}: manifest ${manifestDesc.digest} has no config or layers`);
    }
    const configBytes = readVerified(src, manifest.config);
    const config = parseConfig(configBytes, `${src.label}: config ${manifest.config.digest}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new CartonError('EINVAL_CONFIG', `${src.label}: manifest ${manifestDesc.digest} has ${manifest.layers.length} layers but its config has ${diffIds.length} diff_ids`);
    }
    const layers: ImageLayerRef[] = [];
    let parent: string | null = null;
    for (const [j, d] of manifest.layers.entries()) {
      if (!store.blobs.has(d.digest)) await store.blobs.ingest({ digest: d.digest, size: d.size }, src.stream(blobName(d.digest)));
      const info = await store.layers.ensure({ diffId: diffIds[j], compressedDigest: d.digest, mediaType: d.mediaType }, parent);
      parent = info.chainId;
      layers.push({ chainId: chainId(layers.length ? layers[layers.length - 1].chainId : null, diffIds[j]), diffId: diffIds[j], blobDigest: d.digest, mediaType: d.mediaType, size: d.size });
    }
    await store.blobs.writeBytes(manifestBytes);
    const names = name ? [name] : [];
    out.push({ names, record: await store.images.put({
      config,
      configBytes,
      manifestDigest: manifestDesc.digest,
      manifestMediaType: manifestDesc.mediaType ?? manifest.mediaType ?? MEDIA.ociManifest,
      names,
      layers,
    }) });
  }
  return out;
}

/** An index entry may itself be an index (multi-platform): pick the wanted platform's manifest. */
function pickManifest(src: ArchiveSource, d: Descriptor, want: { os: string; architecture: string }, depth = 0): Descriptor {
  if (d.mediaType !== MEDIA.ociIndex && d.mediaType !== MEDIA.dockerList) return d;
  if (depth > 4) throw new CartonError('EINVAL_CONFIG', `${src.label}: indexes nested too deep`);
  const nested = JSON.parse(readVerified(src, d).toString('utf8')) as ImageIndex;
  const match = nested.manifests.find((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture)
    ?? (nested.manifests.length === 1 ? nested.manifests[0] : undefined);
  if (!match) {
    throw new CartonError('ENOTFOUND', `${src.label}: no image for platform ${want.os}/${want.architecture} in ${d.digest}`);
  }
  return pickManifest(src, match, want, depth + 1);
}

/** io.containerd.image.name, or ref.name when it is a full reference (skopeo/podman), else `fallback` with its tag. */
function imageName(d: Descriptor, fallback?: string): string | undefined {
  const a = d.annotations ?? {};
  if (a['io.containerd.image.name']) return a['io.containerd.image.name'];
  const ref = a['org.opencontainers.image.ref.name'];
  if (ref && (ref.includes('/') || ref.includes(':'))) return ref;
  if (fallback) return ref && !fallback.includes(':') ? `${fallback}:${ref}` : fallback;
  return undefined;
}

function parseJSON<T>(src: ArchiveSource, name: string): T {
  try {
    return JSON.parse(src.read(name).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof CartonError) throw err;
    throw new CartonError('EINVAL_CONFIG', `${src.label}: ${name} is not valid JSON`, { cause: err });
  }
}

function parseConfig(bytes: Buffer, what: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `${what} is not valid JSON`, { cause: err });
  }
  const ids = config?.rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string' && isDigest(d))) {
    throw new CartonError('EINVAL_CONFIG', `${what}: rootfs.diff_ids must be a list of sha256 digests`);
  }
  return config;
}

export function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/** `docker load` from stdin: spool the stream into the store's temp space, then load it. */
export async function loadArchiveStream(store: Store, input: NodeJS.ReadableStream, opts: LoadOptions = {}): Promise<LoadResult> {
  const dir = store.tempDir('stdin');
  try {
    const file = path.join(dir, 'archive');
    await pipeline(input, fs.createWriteStream(file));
    if (fs.statSync(file).size === 0) {
      throw new CartonError('EINVAL_CONFIG', 'requested load from stdin, but stdin is empty', { hint: 'use --input FILE or pipe an archive in' });
    }
    return await loadArchive(store, file, { label: 'archive from stdin', ...opts });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
