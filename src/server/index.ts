/**
 * `upcall/server`: the storage server as a library (DESIGN.md "Interfaces other people script
 * against"). Everything else under src/server is internal.
 */
export {
  createServer,
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  DEFAULT_MAX_SKEW_MS,
  DEFAULT_REGION,
  parseMasterKey,
  type BucketToCreate,
  type ServerOptions,
  type UpcallServer,
} from './create-server.ts';
export {
  CANONICAL_CALLBACK_KEY_URL,
  CALLBACK_PUBLIC_KEY_PATH,
  loadCallbackKey,
  readCallbackKeyFile,
  type CallbackKey,
  type CallbackKeyBits,
} from './callback/callback-key.ts';
export type { CallbackService, CallbackServiceOptions } from './callback/callback-service.ts';
/** What `createServer({ storage })` takes: the backend the server opens, with its settings. */
export type { FsStoreConfig, MemoryStoreConfig, StoreConfig } from '../store/index.ts';
/**
 * A bucket's CORS rules, as `server.store.putBucketSetting(bucket, 'cors', …)` takes them (PutBucketCors
 * does the same over HTTP), and the other bucket settings by name.
 */
export type { BucketCors, BucketSettingName, BucketSettings, CorsRule } from '../store/object-store.ts';
