/**
 * The gateway backend as the server opens it from configuration (`upcall server --database-url …
 * --s3-endpoint … --s3-bucket …`, issue 16): an S3 blob store over the engine bucket and the
 * PostgreSQL store over it, closed together. The configuration is the `gateway` member of the
 * server's storage choice (fs, memory or gateway).
 */
import {
  createGatewayObjectStore,
  DEFAULT_GC_GRACE_MS,
  type GatewayObjectStore,
} from './gateway-object-store.ts';
import type { S3Config } from './blob-store.ts';
import { createS3BlobStore } from './s3-blob-store.ts';

export interface GatewayStoreConfig {
  kind: 'gateway';
  /** `postgres://…` of the metadata database every gateway shares. */
  databaseUrl: string;
  /** The engine bucket every gateway shares. */
  s3: S3Config;
  /** How long unreferenced and orphaned blobs are kept (default 1 h). */
  gcGraceMs?: number | undefined;
}

/** The sweep runs at least this often, and never more often than this. */
const MAX_SWEEP_INTERVAL_MS = 60_000;
const MIN_SWEEP_INTERVAL_MS = 1000;

/**
 * Opens (and migrates) the gateway store. Its `close()` also ends the engine's connection pool.
 * @throws OssError ServiceUnavailable when the database cannot be reached
 */
export async function openGatewayStore(config: GatewayStoreConfig): Promise<GatewayObjectStore> {
  const gcGraceMs = config.gcGraceMs ?? DEFAULT_GC_GRACE_MS;
  const blobStore = createS3BlobStore(config.s3);
  let store: GatewayObjectStore;
  try {
    store = await createGatewayObjectStore({
      databaseUrl: config.databaseUrl,
      s3: config.s3,
      blobStore,
      gcGraceMs,
      // A released blob is deleted between `grace` and `grace + interval` later; with the 1 h
      // default once a minute is plenty, and a short test grace (seconds) is honoured as well.
      gcIntervalMs: Math.min(
        MAX_SWEEP_INTERVAL_MS,
        Math.max(MIN_SWEEP_INTERVAL_MS, Math.round(gcGraceMs / 2)),
      ),
    });
  } catch (error) {
    await blobStore.close();
    throw error;
  }
  // The store leaves the blob store to its creator (gateway-object-store.ts), which is us.
  const closeStore = store.close.bind(store);
  store.close = async () => {
    await closeStore();
    await blobStore.close();
  };
  return store;
}
