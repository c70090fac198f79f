/** Wires the store's parts together (implementation behind store.ts). */
import { CartonError } from '../common/errors';
import type { Store, StoreOptions } from './store';

export function openStoreAt(root: string, _options: StoreOptions): Store {
  throw new CartonError('EUNSUPPORTED', `image store at ${root}: not implemented yet`);
}
