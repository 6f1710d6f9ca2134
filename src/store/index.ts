/**
 * The storage layer's public face: the ObjectStore contract and the factories of its backends.
 * server/ imports stores from here only.
 */
export type * from './object-store.ts';
export type * from './callback-log.ts';
export { createMemoryObjectStore, type MemoryObjectStoreOptions } from './memory/memory-object-store.ts';
export { createFsObjectStore, type FsObjectStoreOptions } from './fs/fs-object-store.ts';
export {
  createObjectStore,
  type FsStoreConfig,
  type GatewayStoreConfig,
  type MemoryStoreConfig,
  type SharedStoreResources,
  type StoreConfig,
} from './create-object-store.ts';
export { Crc64Pool, type Crc64PoolOptions } from './hashing/crc64-pool.ts';
export { parseMasterKey, MASTER_KEY_FILE } from './encryption/master-key.ts';
export {
  checkStoreHealth,
  hasHealthCheck,
  type HealthCheckedStore,
  type StoreHealthCheck,
} from './store-health.ts';
// Types only: the gateway backend (pg, the S3 client) is loaded when a gateway store is opened
// (create-object-store.ts), so a server on disk or in memory never loads it.
export type { GatewayObjectStore, GatewayObjectStoreOptions } from './gateway/gateway-object-store.ts';
export type { BlobStore, S3Config } from './gateway/blob-store.ts';
export { hasSharedCallbackKey, type SharedCallbackKeyStore } from './shared-callback-key.ts';
