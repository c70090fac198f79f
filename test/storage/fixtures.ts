/**
 * Fixtures for image-store tests: temp store roots (cleaned of mounts and files after the
 * test), layers built with our tar writer from Debian's busybox-static, and images put
 * into a store the way a pull does (blob ingest → layer ensure → image put).
 */
import * as crypto from 'crypto';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as zlib from 'zlib';
import { chainId } from '../../src/layer/chain';
import { packTar, TarWriteEntry } from '../../src/layer/tar-writer';
import type { ImageConfig, ImageManifest } from '../../src/storage/image-types';
import { MEDIA } from '../../src/storage/image-types';
import type { ImageLayerRef, ImageRecord, Store } from '../../src/storage/store';

export const BUSYBOX = '/bin/busybox';
export type Entry = TarWriteEntry & { data?: Buffer | string };

/** A fresh directory named carton-test-*; `cleanup` unmounts anything below it and deletes it. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `carton-test-${label}-`));
  return { dir, cleanup: () => removeTree(dir) };
}

export function removeTree(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  fs.rmSync(dir, { recursive: true, force: true });
}

export function sha256(data: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(tar: Buffer, kind: Compression): { data: Buffer; mediaType: string } {
  if (kind === 'gzip') return { data: zlib.gzipSync(tar), mediaType: MEDIA.ociLayerGzip };
  if (kind === 'zstd') {
    const r = spawnSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd: ${r.stderr}`);
    return { data: r.stdout, mediaType: MEDIA.ociLayerZstd };
  }
  return { data: tar, mediaType: MEDIA.ociLayerTar };
}

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'true', 'stat', 'id'];

/** A base layer: busybox with a few applet symlinks, /etc/passwd and /etc/group. */
export function busyboxEntries(): Entry[] {
  return [
    { name: 'bin', type: 'dir', mode: 0o755, mtime: 1700000000 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, mtime: 1700000000, data: fs.readFileSync(BUSYBOX) },
    ...APPLETS.map((a): Entry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mtime: 1700000000 })),
    { name: 'etc', type: 'dir', mode: 0o755 },
    { name: 'etc/passwd', type: 'file', mode: 0o644, data: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'etc/group', type: 'file', mode: 0o644, data: 'root:x:0:\n' },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
  ];
}

export function imageConfig(diffIds: string[], extra: Partial<ImageConfig> = {}): ImageConfig {
  return {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'carton test' })),
    ...extra,
  };
}

/** Put an image made of `tars` (uncompressed layer tars, bottom first) into the store, as a pull does. */
export async function addImage(
  store: Store,
  tars: Buffer[],
  opts: { compression?: Compression; names?: string[]; config?: Partial<ImageConfig> } = {},
): Promise<ImageRecord> {
  const layers: ImageLayerRef[] = [];
  const descriptors: ImageManifest['layers'] = [];
  let parent: string | null = null;
  for (const tar of tars) {
    const { data, mediaType } = compress(tar, opts.compression ?? 'gzip');
    const digest = sha256(data);
    await store.blobs.ingest({ digest, size: data.length }, Readable.from([data]));
    const diffId = sha256(tar);
    const info = await store.layers.ensure({ diffId, compressedDigest: digest, mediaType }, parent);
    parent = info.chainId;
    layers.push({ chainId: chainId(layers.length ? layers[layers.length - 1].chainId : null, diffId), diffId, blobDigest: digest, mediaType, size: data.length });
    descriptors.push({ mediaType, digest, size: data.length });
  }
  const config = imageConfig(layers.map((l) => l.diffId), opts.config);
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: descriptors,
  };
  const m = await store.blobs.writeJSON(manifest);
  return store.images.put({
    config,
    configBytes,
    manifestDigest: m.digest,
    manifestMediaType: MEDIA.ociManifest,
    names: opts.names ?? [],
    layers,
  });
}

export function tarOf(entries: Entry[]): Buffer {
  return packTar(entries);
}
