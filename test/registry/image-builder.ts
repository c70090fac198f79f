/**
 * Test images built from Debian's busybox-static, written as an OCI image layout and
 * pushed to a test registry with `skopeo copy` (a real, independent client), so pulls
 * are tested against content Carton did not produce.
 *
 * The single-arch image has three gzip layers:
 *   1. busybox with applet symlinks, /etc/passwd, /etc/group, /tmp (1777)
 *   2. a setuid-root file, a file with a user xattr, a file plus a hardlink to it,
 *      /etc/motd, and `extraBytes` of incompressible data when asked (for throughput)
 *   3. a whiteout removing /etc/motd and an opaque /opt/replaced
 * A multi-arch index adds arm64/v8 and arm/v7 images (busybox is amd64, but only the
 * manifests matter for platform selection), each with its own /etc/arch layer.
 */
import { execFile, execFileSync } from 'child_process';
import { promisify } from 'util';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { TarWriteEntry, packTar } from '../../src/layer/tar-writer';

/** One tar entry of a test layer (the store's tar writer writes it). */
export type TarEntry = TarWriteEntry & { data?: Buffer };

const BUSYBOX = '/bin/busybox';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const LAYER_TYPE = {
  gzip: OCI_LAYER_GZIP,
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;
export type Compression = keyof typeof LAYER_TYPE;

export interface BuiltLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType?: string;
}

export interface BuiltImage {
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  layers: BuiltLayer[];
  platform: { os: string; architecture: string; variant?: string };
}

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** An OCI image layout directory being filled with blobs. */
export class OciLayout {
  private refs: Array<{ digest: string; size: number; mediaType: string; tag: string }> = [];

  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  addBlob(data: Buffer): { digest: string; size: number } {
    const digest = sha256(data);
    fs.writeFileSync(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  }

  addLayer(entries: TarEntry[], compression: Compression = 'gzip'): BuiltLayer {
    const tar = packTar(entries);
    const blob =
      compression === 'gzip'
        ? zlib.gzipSync(tar, { level: 1 })
        : compression === 'zstd'
          ? execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 })
          : tar;
    return { ...this.addBlob(blob), diffId: sha256(tar), mediaType: LAYER_TYPE[compression] };
  }

  addImage(layers: BuiltLayer[], platform: BuiltImage['platform'], cmd: string[] = ['/bin/sh']): BuiltImage {
    const config = {
      created: '2026-01-01T00:00:00Z',
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd, WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `carton-test layer ${i + 1}` })),
    };
    const cfg = this.addBlob(Buffer.from(JSON.stringify(config)));
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...cfg },
      layers: layers.map((l) => ({ mediaType: l.mediaType ?? OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
    };
    const m = this.addBlob(Buffer.from(JSON.stringify(manifest)));
    return { manifestDigest: m.digest, manifestSize: m.size, configDigest: cfg.digest, layers, platform };
  }

  addIndex(images: BuiltImage[]): { digest: string; size: number } {
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: images.map((im) => ({
        mediaType: OCI_MANIFEST, digest: im.manifestDigest, size: im.manifestSize, platform: im.platform,
      })),
    };
    return this.addBlob(Buffer.from(JSON.stringify(index)));
  }

  /** Name a manifest or index in index.json so `oci:DIR:tag` finds it. */
  tag(tag: string, desc: { digest: string; size: number }, mediaType: string): void {
    this.refs = this.refs.filter((r) => r.tag !== tag);
    this.refs.push({ ...desc, mediaType, tag });
    const index = {
      schemaVersion: 2,
      manifests: this.refs.map((r) => ({
        mediaType: r.mediaType, digest: r.digest, size: r.size,
        annotations: { 'org.opencontainers.image.ref.name': r.tag },
      })),
    };
    fs.writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify(index));
  }
}

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'true', 'false', 'id', 'stat', 'getfattr'];

export function baseLayerEntries(): TarEntry[] {
  const busybox = fs.readFileSync(BUSYBOX);
  return [
    { name: 'bin/', type: 'dir' },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    ...APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 })),
    { name: 'etc/', type: 'dir' },
    { name: 'etc/passwd', type: 'file', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n') },
    { name: 'etc/group', type: 'file', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { name: 'tmp/', type: 'dir', mode: 0o1777 },
    { name: 'opt/', type: 'dir' },
    { name: 'opt/replaced/', type: 'dir' },
    { name: 'opt/replaced/old-file', type: 'file', data: Buffer.from('from layer 1\n') },
  ];
}

export function featureLayerEntries(extraBytes = 0, seed = 'a'): TarEntry[] {
  const entries: TarEntry[] = [
    { name: 'usr/', type: 'dir' },
    { name: 'usr/bin/', type: 'dir' },
    { name: 'usr/bin/setuid-tool', type: 'file', mode: 0o4755, data: Buffer.from('#!/bin/sh\necho setuid\n') },
    { name: 'etc/motd', type: 'file', data: Buffer.from('hello from carton-test\n') },
    { name: 'etc/with-xattr', type: 'file', data: Buffer.from('x\n'), xattrs: { 'user.carton': 'test-value' } },
    { name: 'etc/original', type: 'file', data: Buffer.from(`linked ${seed}\n`) },
    { name: 'etc/hardlink', type: 'link', linkname: 'etc/original' },
    { name: 'etc/link-to-motd', type: 'symlink', linkname: '/etc/motd' },
  ];
  if (extraBytes > 0) entries.push({ name: 'var/', type: 'dir' }, { name: 'var/blob.bin', type: 'file', data: randomBytes(extraBytes) });
  return entries;
}

export function whiteoutLayerEntries(): TarEntry[] {
  return [
    { name: 'etc/', type: 'dir' },
    { name: 'etc/.wh.motd', type: 'file' },
    { name: 'opt/', type: 'dir' },
    { name: 'opt/replaced/', type: 'dir' },
    { name: 'opt/replaced/.wh..wh..opq', type: 'file' },
    { name: 'opt/replaced/new-file', type: 'file', data: Buffer.from('from layer 3\n') },
  ];
}

/** Write the standard three-layer test image into a layout. */
export function buildTestImage(
  layout: OciLayout,
  tag: string,
  opts: { extraBytes?: number; seed?: string; compression?: [Compression, Compression, Compression] } = {},
): BuiltImage {
  const c = opts.compression ?? ['gzip', 'gzip', 'gzip'];
  const layers = [
    layout.addLayer(baseLayerEntries(), c[0]),
    layout.addLayer(featureLayerEntries(opts.extraBytes ?? 0, opts.seed ?? tag), c[1]),
    layout.addLayer(whiteoutLayerEntries(), c[2]),
  ];
  const image = layout.addImage(layers, { os: 'linux', architecture: 'amd64' });
  layout.tag(tag, { digest: image.manifestDigest, size: image.manifestSize }, OCI_MANIFEST);
  return image;
}

/** Write an index with linux/amd64, linux/arm64/v8 and linux/arm/v7 images. */
export function buildMultiArchImage(layout: OciLayout, tag: string): { indexDigest: string; images: BuiltImage[] } {
  const base = layout.addLayer(baseLayerEntries());
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
  ];
  const images = platforms.map((p) => {
    const archLayer = layout.addLayer([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/arch', type: 'file', data: Buffer.from(`${p.architecture}${p.variant ?? ''}\n`) },
    ]);
    return layout.addImage([base, archLayer], p);
  });
  const index = layout.addIndex(images);
  layout.tag(tag, index, OCI_INDEX);
  return { indexDigest: index.digest, images };
}

const execFileP = promisify(execFile);

/**
 * Push `oci:DIR:tag` to `docker://DEST` with skopeo (all platforms of an index).
 * Asynchronous on purpose: the token server runs in this process and must keep answering.
 */
export async function skopeoPush(
  layoutDir: string,
  tag: string,
  dest: string,
  creds?: string,
  format?: 'v2s2' | 'oci',
): Promise<void> {
  // A format conversion changes digests, so digests are preserved only without one.
  const args = ['copy', '--quiet', '--all', '--dest-tls-verify=false', ...(format ? ['--format', format] : ['--preserve-digests'])];
  if (creds) args.push('--dest-creds', creds);
  args.push(`oci:${layoutDir}:${tag}`, `docker://${dest}`);
  await execFileP('skopeo', args, { timeout: 120_000 });
}

/** `skopeo inspect [--raw]` of a remote image, parsed. */
export async function skopeoInspect(ref: string, creds?: string, raw = false): Promise<Record<string, unknown>> {
  const args = ['inspect', '--tls-verify=false'];
  if (raw) args.push('--raw');
  if (creds) args.push('--creds', creds);
  args.push(`docker://${ref}`);
  const { stdout } = await execFileP('skopeo', args, { timeout: 60_000 });
  return JSON.parse(stdout);
}

/**
 * A large multi-layer image for benchmarks (`npm run bench`): the busybox base plus
 * `layers` layers of `layerMB` MB each, half random bytes and half text so gzip has
 * realistic work to do (roughly 2:1 overall). Deterministic sizes, random content.
 */
export function buildBenchImage(layout: OciLayout, tag: string, opts: { layers?: number; layerMB?: number } = {}): BuiltImage {
  const count = opts.layers ?? 5;
  const bytes = Math.round((opts.layerMB ?? 40) * 1024 * 1024);
  const layers = [layout.addLayer(baseLayerEntries())];
  for (let i = 0; i < count; i++) {
    const random = randomBytes(bytes / 2);
    const text = Buffer.alloc(bytes - random.length);
    const line = Buffer.from(`carton bench layer ${i}: the quick brown fox jumps over the lazy dog 0123456789\n`);
    for (let off = 0; off < text.length; off += line.length) line.copy(text, off);
    layers.push(
      layout.addLayer([
        { name: `bench${i}/`, type: 'dir' },
        { name: `bench${i}/random.bin`, type: 'file', data: random },
        { name: `bench${i}/text.txt`, type: 'file', data: text },
      ]),
    );
  }
  const image = layout.addImage(layers, { os: 'linux', architecture: 'amd64' });
  layout.tag(tag, { digest: image.manifestDigest, size: image.manifestSize }, OCI_MANIFEST);
  return image;
}
