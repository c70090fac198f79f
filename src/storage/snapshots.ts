/**
 * Container root filesystems: an overlay of the image's layers (lowerdirs, any number) with
 * a per-container upper and work dir. snapshot.json is written before mounting so that a
 * crash between the two still leaves something remove() can clean up; it also names the
 * layers the snapshot holds, which keeps them from being pruned.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { readJSONFile, writeFileAtomic } from './fsutil';
import type { FileLayerStore } from './layers';
import type { ImageRecord, ImageStore, Snapshot, SnapshotStore } from './store';
import { isMounted, mountOverlay, unmount } from './sys';

interface SnapshotRecord {
  containerId: string;
  imageId: string;
  chainIds: string[];
  createdAt: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class FileSnapshotStore implements SnapshotStore {
  readonly dir: string;

  constructor(
    root: string,
    private readonly layers: FileLayerStore,
    private readonly images: ImageStore,
    private readonly tempDir: (prefix: string) => string,
    private readonly released: (imageId: string, chainIds: string[]) => void = () => undefined,
  ) {
    this.dir = path.join(root, 'snapshots');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  list(): string[] {
    return fs.readdirSync(this.dir).filter((n) => fs.existsSync(path.join(this.dir, n, 'snapshot.json')));
  }

  /** Chain ids every snapshot holds (kept by prune). */
  heldChains(): Set<string> {
    const out = new Set<string>();
    for (const id of this.list()) for (const c of this.record(id)?.chainIds ?? []) out.add(c);
    return out;
  }

  private record(id: string): SnapshotRecord | undefined {
    return readJSONFile<SnapshotRecord>(path.join(this.dir, id, 'snapshot.json'));
  }

  async prepare(containerId: string, imageIdOrRecord: string | ImageRecord): Promise<Snapshot> {
    if (!ID.test(containerId)) throw new CartonError('EINVAL_CONFIG', `snapshot id '${containerId}' is not a valid container id`);
    const image = typeof imageIdOrRecord === 'string' ? this.images.resolve(imageIdOrRecord) : imageIdOrRecord;
    if (!image) throw new CartonError('ENOTFOUND', `No such image: ${imageIdOrRecord as string}`);
    const dir = path.join(this.dir, containerId);
    if (fs.existsSync(dir) && !this.record(containerId)) {
      await this.remove(containerId); // left half-prepared by a killed process
    }
    try {
      fs.mkdirSync(dir, 0o700);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CartonError('EEXIST', `snapshot for container ${containerId} already exists`);
      }
      throw err;
    }
    try {
      for (const sub of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, sub), 0o755);
      const rec: SnapshotRecord = {
        containerId,
        imageId: image.id,
        chainIds: image.layers.map((l) => l.chainId),
        createdAt: new Date().toISOString(),
      };
      // not fsynced: a container's rootfs does not outlive a power loss in any useful way, and
      // `carton run` start-up time matters
      writeFileAtomic(path.join(dir, 'snapshot.json'), JSON.stringify(rec), 0o644, false);
      return await this.mount(containerId);
    } catch (err) {
      await this.remove(containerId).catch(() => undefined);
      if (err instanceof CartonError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new CartonError('EKERNEL', `snapshot for container ${containerId}: ${nodeErrorReason(err)}`, {
        cause: err,
        hint: code === 'ENOSPC' ? 'free space in the image store (--root)' : undefined,
      });
    }
  }

  async mount(containerId: string): Promise<Snapshot> {
    const rec = this.record(containerId);
    if (!rec) throw new CartonError('ENOTFOUND', `no snapshot for container ${containerId}`);
    const dir = path.join(this.dir, containerId);
    const merged = path.join(dir, 'merged');
    if (!isMounted(merged)) {
      const lower: string[] = [];
      for (const chain of [...rec.chainIds].reverse()) {
        if (!this.layers.get(chain)) {
          throw new CartonError('ENOTFOUND', `snapshot ${containerId}: layer ${chain} of image ${rec.imageId} is missing from the store`);
        }
        lower.push(this.layers.shortName(chain));
      }
      if (lower.length === 0) {
        // an image without layers (FROM scratch): overlay still needs one lower dir
        fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
        lower.push(`../snapshots/${containerId}/empty`);
      }
      const rel = `../snapshots/${containerId}`;
      mountOverlay(merged, this.layers.shortDir, lower, `${rel}/upper`, `${rel}/work`);
    }
    return this.handle(containerId, rec.imageId);
  }

  async unmount(containerId: string): Promise<void> {
    const merged = path.join(this.dir, containerId, 'merged');
    if (isMounted(merged)) unmount(merged);
  }

  async remove(containerId: string): Promise<void> {
    if (!ID.test(containerId)) return;
    const dir = path.join(this.dir, containerId);
    if (!fs.existsSync(dir)) return;
    await this.unmount(containerId);
    const rec = this.record(containerId);
    const trash = path.join(this.tempDir('trash'), containerId);
    fs.renameSync(dir, trash); // the snapshot disappears at once; deletion may take a while
    fs.rmSync(path.dirname(trash), { recursive: true, force: true });
    if (rec) this.released(rec.imageId, rec.chainIds);
  }

  private handle(containerId: string, imageId: string): Snapshot {
    const dir = path.join(this.dir, containerId);
    return {
      containerId,
      imageId,
      rootfs: path.join(dir, 'merged'),
      upperDir: path.join(dir, 'upper'),
      workDir: path.join(dir, 'work'),
      cleanup: () => this.remove(containerId),
    };
  }
}
