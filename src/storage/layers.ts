/**
 * Unpacked layers: layers/<chainHex>/{diff/, layer.json}, one per chain id, shared by every
 * image that has it. A layer is unpacked into tmp/ and renamed into layers/ as a whole
 * directory whose layer.json is already written, so a directory under layers/ is always
 * complete; a concurrent unpack of the same chain loses the rename and uses the winner's.
 * Removal renames out to tmp/ first, so a half-deleted layer is never seen either.
 *
 * l/<short> symlinks point at layers/<chainHex>/diff: overlay lowerdirs are given as these
 * short names relative to l/, which keeps the mount data under one page with 300+ layers.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { CartonError, nodeErrorReason } from '../common/errors';
import { applyTar } from '../layer/apply';
import { chainId as computeChainId, digestHex, isDigest } from '../layer/chain';
import { decompressFile, decompressStream } from '../layer/decompress';
import { fsyncDirAsync, readJSONFile, writeDurable } from './fsutil';
import type { BlobStore, LayerInfo, LayerSource, LayerStore } from './store';

/** How long an unreferenced layer is presumed to belong to a pull in progress. */
export const LAYER_GRACE_MS = 10 * 60 * 1000;

export class FileLayerStore implements LayerStore {
  readonly dir: string;
  readonly shortDir: string;

  constructor(
    root: string,
    private readonly blobs: BlobStore,
    private readonly tempDir: (prefix: string) => string,
    private readonly referenced: () => { chains: Set<string>; blobs: Set<string> },
  ) {
    this.dir = path.join(root, 'layers');
    this.shortDir = path.join(root, 'l');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.shortDir, { recursive: true, mode: 0o700 });
  }

  get(chainId: string): LayerInfo | undefined {
    if (!isDigest(chainId)) return undefined;
    const info = readJSONFile<LayerInfo>(path.join(this.dir, digestHex(chainId), 'layer.json'));
    if (info) info.diffDir = path.join(this.dir, digestHex(chainId), 'diff');
    return info;
  }

  list(): LayerInfo[] {
    const out: LayerInfo[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const info = /^[a-f0-9]{64}$/.test(name) ? this.get(`sha256:${name}`) : undefined;
      if (info) out.push(info);
    }
    return out;
  }

  async ensure(layer: LayerSource, parentChainId: string | null): Promise<LayerInfo> {
    const chain = this.chainOf(layer, parentChainId);
    const have = this.get(chain);
    if (have) return have;
    // The parent need not be unpacked yet: layer directories are independent (overlay stacks
    // them at mount time), so a pull may unpack all its layers at once. images.put() checks
    // that the whole chain is there before an image is recorded.
    const blobDigest = layer.compressedDigest ?? layer.diffId;
    if (!this.blobs.has(blobDigest)) {
      throw new CartonError('ENOTFOUND', `layer ${layer.diffId}: blob ${blobDigest} is not in the image store`);
    }
    const label = `layer ${blobDigest}`;
    return this.unpack(layer, parentChainId, chain, decompressFile(this.blobs.path(blobDigest), label));
  }

  async ensureStreaming(layer: LayerSource, parentChainId: string | null, compressed: Readable, blobStored: Promise<void>): Promise<LayerInfo> {
    blobStored.catch(() => undefined); // awaited below; a rejection before then is not unhandled
    const blobDigest = layer.compressedDigest ?? layer.diffId;
    const label = `layer ${blobDigest}`;
    try {
      const chain = this.chainOf(layer, parentChainId);
      const have = this.get(chain);
      if (have) {
        compressed.resume(); // someone else unpacked it: the download still needs a reader
        await blobStored;
        return have;
      }
      // destroyOnReturn: false — a failed unpack must not cut the download, whose verdict comes first
      const source = decompressStream(compressed.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>, label);
      return await this.unpack(layer, parentChainId, chain, source, blobStored);
    } catch (err) {
      compressed.resume();
      await blobStored; // a digest mismatch or a failed download is the real story
      if (!this.blobs.has(blobDigest)) throw err;
      // The blob is stored and good: the stream was cut by a download that started over, or
      // the content itself is bad (then this fails the same way, from the stored blob).
      return this.ensure(layer, parentChainId);
    }
  }

  private chainOf(layer: LayerSource, parentChainId: string | null): string {
    if (!isDigest(layer.diffId)) throw new CartonError('EINVAL_CONFIG', `layer diff_id '${layer.diffId}' is not a sha256 digest`);
    return computeChainId(parentChainId, layer.diffId);
  }

  /**
   * Unpack `source` (the layer's uncompressed tar) into tmp/, check its diffId, wait for
   * `beforeCommit` (the blob's own verification when streaming), then rename into layers/.
   */
  private async unpack(
    layer: LayerSource,
    parentChainId: string | null,
    chain: string,
    source: AsyncIterable<Buffer>,
    beforeCommit?: Promise<void>,
  ): Promise<LayerInfo> {
    const blobDigest = layer.compressedDigest ?? layer.diffId;
    const work = this.tempDir('layer');
    try {
      const diff = path.join(work, 'diff');
      fs.mkdirSync(diff, 0o755);
      const label = `layer ${blobDigest}`;
      const result = await applyTar(source, diff, label);
      if (result.diffId !== layer.diffId) {
        throw new CartonError('EDIGEST', `${label}: uncompressed content has digest ${result.diffId}, config says ${layer.diffId}`, {
          hint: 'the image config and its layers do not match',
        });
      }
      const info: LayerInfo = {
        chainId: chain,
        diffId: layer.diffId,
        parentChainId,
        blobDigest,
        mediaType: layer.mediaType ?? 'application/vnd.oci.image.layer.v1.tar',
        diffDir: path.join(this.dir, digestHex(chain), 'diff'),
        size: result.size,
        createdAt: new Date().toISOString(),
      };
      // work/ is private until the rename: a plain write, fsynced (in the thread pool) so a
      // power cut never leaves an empty layer.json under layers/
      await writeDurable(path.join(work, 'layer.json'), JSON.stringify(info));
      if (beforeCommit) await beforeCommit;
      try {
        fs.renameSync(work, path.join(this.dir, digestHex(chain)));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // another process finished the same layer first: use theirs
      }
      await fsyncDirAsync(this.dir);
      const done = this.get(chain);
      if (!done) throw new CartonError('EINTERNAL', `layer ${chain} vanished after unpacking`);
      this.shortName(chain);
      return done;
    } catch (err) {
      if (err instanceof CartonError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new CartonError(code === 'ENOSPC' ? 'EKERNEL' : 'EINTERNAL', `layer ${layer.diffId}: ${nodeErrorReason(err)}`, {
        cause: err,
        hint: code === 'ENOSPC' ? 'free space in the image store (--root) and retry' : undefined,
      });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * The short link name for a layer (created on demand): the shortest prefix of its chain
   * hex, from 6 characters, not taken by another layer.
   */
  shortName(chainId: string): string {
    const hex = digestHex(chainId);
    const target = `../layers/${hex}/diff`;
    for (let len = 6; len <= hex.length; len++) {
      const name = hex.slice(0, len);
      const link = path.join(this.shortDir, name);
      let current: string | undefined;
      try {
        current = fs.readlinkSync(link);
      } catch {
        try {
          fs.symlinkSync(target, link);
          return name;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          current = fs.readlinkSync(link);
        }
      }
      if (current === target) return name;
    }
    throw new CartonError('EINTERNAL', `no short name for layer ${chainId}`);
  }

  /** Remove one layer: renamed out of layers/ first so it is never seen half-deleted. */
  removeLayer(chainId: string): void {
    const hex = digestHex(chainId);
    const src = path.join(this.dir, hex);
    const trash = path.join(this.tempDir('trash'), hex);
    try {
      fs.renameSync(src, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of fs.readdirSync(this.shortDir)) {
      if (hex.startsWith(name)) {
        try {
          if (fs.readlinkSync(path.join(this.shortDir, name)) === `../layers/${hex}/diff`) fs.unlinkSync(path.join(this.shortDir, name));
        } catch {
          /* already gone */
        }
      }
    }
    fs.rmSync(path.dirname(trash), { recursive: true, force: true });
  }

  /**
   * Call with the store lock held. Unreferenced layers younger than LAYER_GRACE_MS are kept
   * (a pull may have unpacked them and not yet recorded its image) unless named in `dropNow`.
   */
  prune(dropNow: ReadonlySet<string> = new Set()): string[] {
    const refs = this.referenced();
    const removed: string[] = [];
    const now = Date.now();
    for (const info of this.list()) {
      if (refs.chains.has(info.chainId)) continue;
      if (!dropNow.has(info.chainId) && now - Date.parse(info.createdAt) < LAYER_GRACE_MS) continue;
      this.removeLayer(info.chainId);
      removed.push(info.chainId);
    }
    return removed;
  }
}
