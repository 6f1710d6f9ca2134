/**
 * An optional capability of a store (STYLE.md §3.4): keep the upload-callback signing key where
 * every server over the same store finds it. The gateway store has it (the key lives in PostgreSQL,
 * issue 16), so a callback signed by one gateway verifies with the public key any other serves; the
 * fs store's key stays a file in its data dir and the memory store has none.
 *
 * Contract: `getOrCreateCallbackKey(generate)` resolves to the one PEM private key of the store,
 * calling `generate` only when there is none yet; of racing first calls, one key wins and every
 * caller gets that one.
 */
import type { ObjectStore } from './object-store.ts';

export interface SharedCallbackKeyStore {
  getOrCreateCallbackKey(generate: () => string): Promise<string>;
}

export function hasSharedCallbackKey(store: ObjectStore): store is ObjectStore & SharedCallbackKeyStore {
  return typeof (store as Partial<SharedCallbackKeyStore>).getOrCreateCallbackKey === 'function';
}
