/**
 * An optional capability of a store (STYLE.md §3.4, tusd-style): say whether it can still serve,
 * for the readiness endpoint (docs/operations.md "Health"). A backend without it is taken as ready
 * (the memory store has nothing that can go away).
 *
 * Contract: `checkHealth` never throws; each failure is a check with `ok: false` and a reason fit
 * for an operator (no secrets: it is served unauthenticated). It must be cheap (a readiness probe
 * runs it every few seconds) and must not write.
 */
import type { ObjectStore } from './object-store.ts';

export interface StoreHealthCheck {
  /** What was checked, e.g. `metadata-database`, `blob-directory`, `s3-engine`. */
  name: string;
  ok: boolean;
  /** Why it failed. */
  reason?: string;
}

export interface HealthCheckedStore {
  checkHealth(): Promise<StoreHealthCheck[]>;
}

export function hasHealthCheck(store: object): store is HealthCheckedStore {
  return typeof (store as Partial<HealthCheckedStore>).checkHealth === 'function';
}

/** The store's own checks, or none for a store without the capability. */
export async function checkStoreHealth(store: ObjectStore): Promise<StoreHealthCheck[]> {
  if (!hasHealthCheck(store)) return [];
  try {
    return await store.checkHealth();
  } catch (error) {
    return [{ name: 'store', ok: false, reason: error instanceof Error ? error.message : String(error) }];
  }
}
