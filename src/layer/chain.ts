/** Chain ids (OCI image-spec): a layer's identity together with every layer below it. */
import type { Hash } from 'crypto';

/**
 * A fresh sha256 hasher. crypto is loaded on the first digest, not when a module that may
 * hash is loaded: opening the store for `carton run` never hashes and loading crypto costs
 * start-up time (docs/performance-images.md).
 */
export function newSha256(): Hash {
  return (require('crypto') as typeof import('crypto')).createHash('sha256');
}

/** chainId(L0) = diffId(L0); chainId(Ln) = sha256(chainId(Ln-1) + " " + diffId(Ln)). */
export function chainId(parentChainId: string | null, diffId: string): string {
  if (!parentChainId) return diffId;
  return `sha256:${newSha256().update(`${parentChainId} ${diffId}`).digest('hex')}`;
}

/** Chain ids of a whole diff_ids list, bottom layer first. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  let parent: string | null = null;
  for (const d of diffIds) {
    parent = chainId(parent, d);
    out.push(parent);
  }
  return out;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}
