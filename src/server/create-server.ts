/**
 * `createServer(options)`: the storage server as a library (DESIGN.md "upcall/server"). Wires the
 * configuration, the store, the routing table, authentication and the HTTP adapter, and listens.
 *
 * Invariant: a server created here owns the store it created (closed by `close()`), never a store
 * passed in by the caller; `close()` stops accepting, ends idle keep-alive sockets and resolves
 * once the port is released.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isOssError } from '../shared/oss-error.ts';
import {
  createObjectStore,
  hasSharedCallbackKey,
  type BucketAcl,
  type CallbackLog,
  type CallbackLogRetention,
  type ObjectStore,
  type StoreConfig,
} from '../store/index.ts';
import { DEFAULT_MAX_SKEW_MS, type AuthenticateDeps } from './pipeline/authenticate.ts';
import type { DispatchConfig } from './pipeline/dispatch.ts';
import { serveRequests } from './pipeline/http-adapter.ts';
import { guardTransferCoding } from './transfer-coding-guard.ts';
import { createServerMetrics } from './observability/server-metrics.ts';
import { createUpcallEndpoints } from './observability/upcall-endpoints.ts';
import type { Owner, ServerDeps } from './pipeline/request-context.ts';
import { DEFAULT_CALLBACK_LOG_RETENTION } from './callback-log/callback-log-recorder.ts';
import {
  createCallbackService,
  type CallbackService,
  type CallbackServiceOptions,
} from './callback/callback-service.ts';
import type { CallbackRuntime } from './callback/callback-runtime.ts';

/** Used when no credentials are configured; printed by the CLI so users can paste them. */
export const DEFAULT_ACCESS_KEY_ID = 'upcall-access-key-id';
export const DEFAULT_ACCESS_KEY_SECRET = 'upcall-access-key-secret';
export const DEFAULT_REGION = 'oss-cn-hangzhou';
/** RestoreObject completes after this (`upcall server --restore-delay`); real OSS takes minutes to hours. */
export const DEFAULT_RESTORE_DELAY_MS = 60_000;
export { DEFAULT_MAX_SKEW_MS };

export interface BucketToCreate {
  name: string;
  acl?: BucketAcl;
}

export interface ServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: a development server is not exposed unless asked. */
  host?: string;
  /** A store to serve; the caller keeps ownership. Otherwise the server creates one from `storage`. */
  store?: ObjectStore;
  /**
   * The store the server creates, owns and closes (ignored when `store` is given), with its own
   * settings (src/store/create-object-store.ts). Default `{ kind: 'memory' }`. An fs store's data
   * dir also keeps the callback signing key, unless `callback` names a key or a key dir.
   */
  storage?: StoreConfig;
  /** AccessKeyId → AccessKeySecret. Default: DEFAULT_ACCESS_KEY_ID / DEFAULT_ACCESS_KEY_SECRET. */
  credentials?: Readonly<Record<string, string>>;
  /** Buckets created at start unless they exist (private unless an acl is given). */
  bucketsToCreate?: readonly (string | BucketToCreate)[];
  maxSkewMs?: number;
  /** Default: silent (a library never writes to its host's stdout); the CLI passes its own. */
  logger?: Logger;
  region?: string;
  owner?: Owner;
  /** Host names that never carry a bucket label (path-style only), e.g. a load balancer's name. */
  pathStyleHosts?: readonly string[];
  /**
   * One line per request at info level, written when `logger`'s level lets info through (default
   * true; docs/operations.md "Logs"). False: none, whatever the level.
   */
  accessLog?: boolean;
  /**
   * How long a request body may go without a byte before the request fails with RequestTimeout
   * (http-adapter.ts). Default DEFAULT_BODY_TIMEOUT_MS (30 s).
   */
  bodyTimeoutMs?: number;
  /** How long a RestoreObject of an archived object takes to complete. Default 60 s. */
  restoreDelayMs?: number;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
  /**
   * A callback runtime of the caller's own (dispatcher, private-address refusal), in place of the
   * one `callback` builds; tests pass one to watch or stub nothing but the app server.
   */
  callbackRuntime?: CallbackRuntime;
  /**
   * The server's own upload-callback machinery (callback-service.ts): signing key in `keyDir`
   * (default: an fs `storage`'s data dir; generated on first use), key PEM served at `/callback_pub_key_v1.pem`, dispatcher options.
   * On by default; `false` turns callbacks off. Ignored when `callbackRuntime` is given.
   */
  callback?: CallbackServiceOptions | false;
  /**
   * The callback log (issue 18): every callback attempted, in the store's metadata database, kept
   * for `maxAgeMs` and up to `maxEntries` (defaults: 7 days, 100 000). On by default when the
   * server runs its own callbacks and the store has a log; `false` turns it off.
   */
  callbackLog?: Partial<CallbackLogRetention> | false;
}

export interface UpcallServer {
  /** `http://<host>:<port>` as bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly store: ObjectStore;
  readonly httpServer: Server;
  /** The server's callback service (key, key URL), unless callbacks are off or supplied. */
  readonly callbackService: CallbackService | undefined;
  /** This server's own Prometheus registry, served at `/_upcall/metrics` (docs/operations.md). */
  readonly metrics: Registry;
  close(): Promise<void>;
}

export async function createServer(options: ServerOptions = {}): Promise<UpcallServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const now = options.now ?? (() => new Date());
  const ownsStore = options.store === undefined;
  const store = options.store ?? (await createObjectStore(options.storage ?? { kind: 'memory' }));
  const credentials = new Map(
    Object.entries(options.credentials ?? { [DEFAULT_ACCESS_KEY_ID]: DEFAULT_ACCESS_KEY_SECRET }),
  );
  // One lookup for the signature checks and for PostObject, which verifies its form itself.
  const secretOf = (accessKeyId: string): string | undefined => credentials.get(accessKeyId);
  const owner = options.owner ?? { id: firstKeyId(credentials), displayName: firstKeyId(credentials) };
  const callbackService =
    options.callbackRuntime !== undefined || options.callback === false
      ? undefined
      : createCallbackService(
          {
            keyDir: callbackKeyDir(options.storage),
            ...(hasSharedCallbackKey(store) && { sharedKey: store }),
            ...options.callback,
          },
          { owner: owner.id, now, log: callbackLogOptions(options, store, logger) },
        );
  const metrics = createServerMetrics();
  const callbacks = options.callbackRuntime ?? callbackService?.runtime;
  const deps: ServerDeps = {
    store,
    now,
    logger,
    region: options.region ?? DEFAULT_REGION,
    owner,
    restoreDelayMs: options.restoreDelayMs ?? DEFAULT_RESTORE_DELAY_MS,
    callbackRuntime: callbacks === undefined ? undefined : metrics.measureCallbacks(callbacks),
    credentials: secretOf,
  };
  const auth: AuthenticateDeps = {
    credentials: secretOf,
    now,
    maxSkewMs: options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS,
  };
  const config: DispatchConfig = {
    deps,
    auth,
    pathStyleHosts: new Set((options.pathStyleHosts ?? []).map((host) => host.toLowerCase())),
    callbackKey: callbackService,
    upcallEndpoints: createUpcallEndpoints({ store, metrics }),
    callbackLog: callbackService?.callbackLog,
  };

  try {
    for (const bucket of options.bucketsToCreate ?? []) {
      const { name, acl = 'private' } = typeof bucket === 'string' ? { name: bucket } : bucket;
      await createBucketIfMissing(store, name, acl);
    }
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }

  const httpServer = createHttpServer();
  serveRequests(httpServer, config, {
    accessLog: options.accessLog ?? true,
    metrics,
    ...(options.bodyTimeoutMs !== undefined && { bodyTimeoutMs: options.bodyTimeoutMs }),
  });
  guardTransferCoding(httpServer);
  const host = options.host ?? '127.0.0.1';
  try {
    await listen(httpServer, options.port ?? 0, host);
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const { port } = httpServer.address() as AddressInfo;
  callbackService?.listening(host, port);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    store,
    httpServer,
    callbackService,
    metrics: metrics.registry,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          httpServer.close((error) => (error ? reject(error) : resolve()));
          httpServer.closeIdleConnections();
        });
        await callbackService?.close();
        if (ownsStore) await store.close();
      })();
      return closing;
    },
  };
}

function callbackLogOptions(
  options: ServerOptions,
  store: ObjectStore,
  logger: Logger,
): { log: CallbackLog; retention: CallbackLogRetention; logger: Logger } | undefined {
  if (options.callbackLog === false || store.callbackLog === undefined) return undefined;
  return {
    log: store.callbackLog,
    retention: { ...DEFAULT_CALLBACK_LOG_RETENTION, ...options.callbackLog },
    logger,
  };
}

/**
 * Where the callback signing key is kept when `callback` does not say: beside an fs store's data,
 * so a restart keeps the key app servers cached; a store with no directory of its own (memory)
 * gets a fresh key per start.
 */
function callbackKeyDir(storage: StoreConfig | undefined): string | undefined {
  return storage?.kind === 'fs' ? storage.dataDir : undefined;
}

function firstKeyId(credentials: ReadonlyMap<string, string>): string {
  for (const id of credentials.keys()) return id;
  return 'upcall';
}

async function createBucketIfMissing(store: ObjectStore, name: string, acl: BucketAcl): Promise<void> {
  try {
    await store.createBucket(name, acl);
  } catch (error) {
    if (!isOssError(error) || error.code !== 'BucketAlreadyExists') throw error;
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
