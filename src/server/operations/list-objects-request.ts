/**
 * What ListObjects and ListObjectsV2 share: `max-keys` (1..1000, default 100, OSS) and the store's
 * key-range listing as the page source of list-objects-page.ts.
 *
 * Invariant: the store only scans a key range (ObjectStore.listObjects has no delimiter), so folding
 * into CommonPrefixes happens in one place (list-objects-page.ts) whatever the backend.
 */
import type { ObjectStore, StoredObject } from '../../store/object-store.ts';
import type { FetchKeyRange } from './list-objects-page.ts';
import { parseIntegerArgument } from '../request-arguments.ts';

export const DEFAULT_MAX_KEYS = 100;
export const MAX_MAX_KEYS = 1000;

/** @throws InvalidArgument unless an integer in 1..1000 */
export function parseMaxKeys(query: URLSearchParams): number {
  // FIDELITY: max-keys=0 is refused (InvalidArgument) rather than answering an empty page.
  return parseIntegerArgument(query, 'max-keys', { fallback: DEFAULT_MAX_KEYS, min: 1, max: MAX_MAX_KEYS });
}

export function storeKeyRange(store: ObjectStore, bucket: string): FetchKeyRange<StoredObject> {
  return (query) => store.listObjects(bucket, query);
}
