/**
 * `image prune`: remove dangling images (no names), or with `all` every image no container
 * uses, then collect the layers and blobs nothing references. Images in use are skipped,
 * never forced.
 */
import { CartonError } from '../common/errors';
import type { Store } from './store';

export interface PruneResult {
  /** "untagged: …" / "deleted: …" lines, as Docker prints under "Deleted Images:". */
  lines: string[];
  /** Sum of the removed images' sizes (Docker's "Total reclaimed space"), in bytes. */
  reclaimed: number;
}

export async function pruneImages(store: Store, opts: { all?: boolean } = {}): Promise<PruneResult> {
  const lines: string[] = [];
  let reclaimed = 0;
  for (const img of store.images.list()) {
    if (!opts.all && img.names.length > 0) continue;
    if (store.images.usedBy(img.id).length > 0) continue;
    // one name at a time: removing by id refuses images with several names
    const queries = img.names.length ? [...img.names] : [img.id];
    let deleted = false;
    for (const q of queries) {
      let out: string[];
      try {
        out = await store.images.remove(q);
      } catch (err) {
        if (err instanceof CartonError && (err.code === 'ESTATE' || err.code === 'ENOTFOUND')) break; // used or gone meanwhile
        throw err;
      }
      for (const l of out) lines.push(l.replace(/^Untagged:/, 'untagged:').replace(/^Deleted:/, 'deleted:'));
      if (out.includes(`Deleted: ${img.id}`)) deleted = true;
    }
    if (deleted) reclaimed += img.size;
  }
  return { lines, reclaimed };
}
