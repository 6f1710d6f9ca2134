/**
 * Which backend holds the data, with that backend's own settings, and the one factory that opens
 * it (issue 16). Storage settings live here, not on the server's options: a server (or any other
 * caller) names a StoreConfig and gets an ObjectStore, whatever the backend.
 *
 * Adding a backend: a member of the StoreConfig union (its own `kind`) and a case in
 * `createObjectStore`; the `never` check makes a forgotten case a compile error.
 */
import { createFsObjectStore } from './fs/fs-object-store.ts';
import type { S3Config } from './gateway/blob-store.ts';
import type { Crc64Pool } from './hashing/crc64-pool.ts';
import { createMemoryObjectStore } from './memory/memory-object-store.ts';
import type { ObjectStore } from './object-store.ts';

/** Everything in memory, gone when the process ends. */
export interface MemoryStoreConfig {
  kind: 'memory';
  /** The server-side encryption master key (32 bytes); default a random one per process. */
  masterKey?: Buffer | undefined;
}

/** The embedded backend: blobs as files and a SQLite index in `dataDir` (fs-object-store.ts). */
export interface FsStoreConfig {
  kind: 'fs';
  /** Holds meta.sqlite, blobs/ and tmp/; created if missing. One process per data dir. */
  dataDir: string;
  /** False skips the fsync of each new blob (unsafe; FsObjectStoreOptions.fsync). Default true. */
  fsync?: boolean | undefined;
  /** The free-space reserve in bytes (FsObjectStoreOptions.minFreeBytes). Default 512 MiB; 0 turns it off. */
  minFreeBytes?: number | undefined;
  /** The server-side encryption master key (32 bytes); default `<dataDir>/master.key`, made on first use. */
  masterKey?: Buffer | undefined;
}

/**
 * Gateway mode (issue 16): blobs in an S3-compatible engine, metadata in PostgreSQL
 * (gateway-object-store.ts), one namespace for every server opened with the same settings.
 */
export interface GatewayStoreConfig {
  kind: 'gateway';
  /** `postgres://…` of the metadata database every gateway shares; migrated at open. */
  databaseUrl: string;
  /** The engine bucket every gateway shares; it must exist. */
  s3: S3Config;
  /** How long unreferenced and orphaned blobs are kept before the sweep deletes them. Default 1 h. */
  gcGraceMs?: number | undefined;
  /**
   * The server-side encryption master key (32 bytes), the same for every gateway
   * (UPCALL_MASTER_KEY). Default: the one kept in the metadata database, created once.
   */
  masterKey?: Buffer | undefined;
}

export type StoreConfig = MemoryStoreConfig | FsStoreConfig | GatewayStoreConfig;

/** A gateway sweeps at least this often, and never more often than this. */
const MAX_SWEEP_INTERVAL_MS = 60_000;
const MIN_SWEEP_INTERVAL_MS = 1000;

/** What stores opened in one process may share instead of each starting their own. */
export interface SharedStoreResources {
  /** CRC-64 worker threads; stays the caller's (a store does not close it). */
  crc64Pool?: Crc64Pool | undefined;
}

/**
 * Opens the store `config` names; the caller owns it (`close()`).
 * @throws Error when the store cannot be opened (e.g. an fs data dir another live process holds);
 *   OssError ServiceUnavailable when a gateway's metadata database cannot be reached
 */
export async function createObjectStore(
  config: StoreConfig,
  shared: SharedStoreResources = {},
): Promise<ObjectStore> {
  switch (config.kind) {
    case 'memory':
      return createMemoryObjectStore({ crc64Pool: shared.crc64Pool, masterKey: config.masterKey });
    case 'fs':
      return createFsObjectStore({
        dataDir: config.dataDir,
        fsync: config.fsync,
        minFreeBytes: config.minFreeBytes,
        masterKey: config.masterKey,
        crc64Pool: shared.crc64Pool,
      });
    case 'gateway': {
      // Loaded here, not at import: a server on disk never uses PostgreSQL's driver and the S3
      // client, and importing them cost it memory and start-up (the gateway store's modules
      // alone: +16 MB RSS and about 0.2 s here; test/cli/cli-lazy-backends.test.ts).
      const { createGatewayObjectStore, DEFAULT_GC_GRACE_MS } =
        await import('./gateway/gateway-object-store.ts');
      const gcGraceMs = config.gcGraceMs ?? DEFAULT_GC_GRACE_MS;
      return createGatewayObjectStore({
        databaseUrl: config.databaseUrl,
        s3: config.s3,
        gcGraceMs,
        // A released blob is deleted between `grace` and `grace + interval` later: with the 1 h
        // default once a minute is plenty, and a short grace (seconds, in tests) is honoured too.
        gcIntervalMs: Math.min(
          MAX_SWEEP_INTERVAL_MS,
          Math.max(MIN_SWEEP_INTERVAL_MS, Math.round(gcGraceMs / 2)),
        ),
        masterKey: config.masterKey,
        crc64Pool: shared.crc64Pool,
      });
    }
    default:
      return unknownKind(config);
  }
}

function unknownKind(config: never): never {
  throw new Error(`unknown store kind: ${String((config as { kind?: unknown }).kind)}`);
}
