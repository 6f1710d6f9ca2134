/**
 * Everything a running server needs for upload callbacks, built once per server: the signing key
 * (callback-key.ts), the key URL, the dispatcher (callback-dispatcher.ts) and the route that
 * serves the public key PEM (SPEC.md §1.2, §12 "Key distribution").
 *
 * Invariant: the key URL sent in `x-oss-pub-key-url` is the URL this server answers with the PEM
 * (unless an explicit external URL was configured, e.g. the canonical gosspublic one).
 */
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { createCallbackAddressGuard, type HostLookup } from './callback-address-guard.ts';
import type { CallbackDispatcher } from './callback-dispatcher.ts';
import { createCallbackDispatcher } from './callback-dispatcher.ts';
import {
  CALLBACK_PUBLIC_KEY_PATH,
  defaultCallbackKeyUrl,
  fromPrivateKeyPem,
  isCallbackKeyRequest,
  loadCallbackKey,
  type CallbackKey,
  type CallbackKeyBits,
} from './callback-key.ts';
import type { OssResponse } from '../pipeline/request-context.ts';
import { hostnameOf, virtualHostBucket } from '../pipeline/resolve-target.ts';
import { createCallbackParser } from '../../callback/parse-callback.ts';
import type { CallbackRuntime } from './callback-runtime.ts';
import type { Logger } from 'pino';
import type { CallbackLog, CallbackLogRetention } from '../../store/callback-log.ts';
import type { SharedCallbackKeyStore } from '../../store/shared-callback-key.ts';
import {
  createCallbackLogRecorder,
  type CallbackLogRecorder,
} from '../callback-log/callback-log-recorder.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface CallbackServiceOptions {
  /**
   * The directory the key is kept in (generated on first start; createServer's default is an fs
   * store's data dir). Without it the key lives in memory only.
   */
  keyDir?: string | undefined;
  /**
   * Where the key is kept for every server over the same store (the gateway store's PostgreSQL,
   * issue 16): a callback signed by one gateway verifies with the public key another serves. Wins
   * over `keyDir`.
   */
  sharedKey?: SharedCallbackKeyStore | undefined;
  /** Size of a newly generated key (default 2048). */
  keyBits?: CallbackKeyBits | undefined;
  /** A ready key (tests, or keys managed elsewhere); wins over `keyDir`. */
  key?: CallbackKey | undefined;
  /**
   * The URL sent (base64) in `x-oss-pub-key-url`. Default: this server's own
   * `http://<host>:<port>/callback_pub_key_v1.pem`. CANONICAL_CALLBACK_KEY_URL makes official
   * verifiers accept it once that host points at this server.
   */
  keyUrl?: string | undefined;
  /** Per-attempt deadline in ms (default 5000, as OSS). */
  timeoutMs?: number | undefined;
  /** Largest accepted reply body (default 1 MiB). */
  maxReplyBytes?: number | undefined;
  /** Real OSS's private-address refusal; off by default. */
  forbidPrivateAddresses?: boolean | undefined;
  /**
   * How that refusal resolves callback host names (default: the system resolver), e.g. a
   * split-horizon resolver; the answer it gives is checked, then connected to as is.
   */
  lookup?: HostLookup | undefined;
  /** Verify app servers' TLS certificates (default true). */
  rejectUnauthorized?: boolean | undefined;
  /**
   * Send callbacks without `Authorization` and `x-oss-pub-key-url` (default false). Never OSS's
   * behaviour, and no verifier accepts them: only for app servers that trust the network instead
   * (a private link or loopback), which then save the RSA signature per upload.
   */
  unsigned?: boolean | undefined;
}

export interface CallbackService {
  readonly runtime: CallbackRuntime;
  /** The signing key, loaded or generated on first use (servers that never call back pay nothing). */
  key(): Promise<CallbackKey>;
  readonly dispatcher: CallbackDispatcher;
  /** Records every callback and redelivers logged ones (issue 18); absent when the log is off. */
  readonly callbackLog: CallbackLogRecorder | undefined;
  /** The key URL in effect (after `listening` when it is the server's own). */
  keyUrl(): string;
  /** Tells the service where the server listens, for the default key URL. */
  listening(host: string, port: number): void;
  /**
   * The PEM response when the request asks for the public key, else undefined (synchronously, so
   * the hot path of every other request pays one string comparison).
   */
  keyResponse(
    request: { method: string; rawPath: string; host: string },
    pathStyleHosts: ReadonlySet<string>,
  ): Promise<OssResponse> | undefined;
  close(): Promise<void>;
}

export function createCallbackService(
  options: CallbackServiceOptions,
  server: {
    owner: string;
    now: () => Date;
    /** Where every callback is recorded (the store's), with its retention; absent: no log. */
    log?: { log: CallbackLog; retention?: CallbackLogRetention | undefined; logger: Logger } | undefined;
  },
): CallbackService {
  let loading: Promise<CallbackKey> | undefined;
  const key = (): Promise<CallbackKey> => {
    if (loading === undefined) {
      const attempt = options.key === undefined ? obtainKey(options) : Promise.resolve(options.key);
      // A failed load (unreadable key file) is retried by the next caller, not cached.
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
      loading = attempt;
    }
    return loading;
  };
  let ownUrl = '';
  const keyUrl = (): string => options.keyUrl ?? ownUrl;
  const forbidPrivateAddresses = options.forbidPrivateAddresses === true;
  // One guard for the check before storing and the one at connect, on the same resolver.
  const addressGuard = forbidPrivateAddresses
    ? createCallbackAddressGuard({ lookup: options.lookup })
    : undefined;
  const sender = createCallbackDispatcher({
    // FIDELITY: OSS signs every callback; unsigned ones are an upcall option, off by default.
    privateKey: options.unsigned === true ? null : async () => (await key()).privateKey,
    keyUrl,
    owner: server.owner,
    now: server.now,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.maxReplyBytes !== undefined && { maxReplyBytes: options.maxReplyBytes }),
    ...(options.rejectUnauthorized !== undefined && { rejectUnauthorized: options.rejectUnauthorized }),
    forbidPrivateAddresses,
    addressGuard,
  });
  const callbackLog =
    server.log === undefined
      ? undefined
      : createCallbackLogRecorder({ ...server.log, dispatcher: sender, now: server.now });
  const dispatcher = callbackLog?.dispatcher ?? sender;
  return {
    runtime: { dispatcher, parser: createCallbackParser(), forbidPrivateAddresses, addressGuard },
    key,
    dispatcher,
    callbackLog,
    keyUrl,
    listening(host, port) {
      // A wildcard bind address is not something an app server can connect to.
      const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
      ownUrl = defaultCallbackKeyUrl(reachable, port);
    },
    keyResponse(request, pathStyleHosts) {
      if (request.rawPath !== CALLBACK_PUBLIC_KEY_PATH) return undefined;
      const hit = isCallbackKeyRequest(
        {
          method: request.method,
          rawPath: request.rawPath,
          virtualHostBucket: virtualHostBucket(request.host, pathStyleHosts),
          hostname: hostnameOf(request.host),
        },
        keyUrl(),
      );
      if (!hit) return undefined;
      return key().then((loaded) => ({
        status: 200,
        headers: { 'Content-Type': 'application/x-pem-file', 'Cache-Control': 'max-age=86400' },
        body: loaded.publicKeyPem,
      }));
    },
    async close() {
      await callbackLog?.close();
      await dispatcher.close();
    },
  };
}

async function obtainKey(options: CallbackServiceOptions): Promise<CallbackKey> {
  const bits = options.keyBits ?? 2048;
  if (options.sharedKey !== undefined) {
    // Generated synchronously, and only when the store has no key yet: once per cluster, not per
    // start (the store takes a generator, so a racing gateway's key is never even exported).
    const pem = await options.sharedKey.getOrCreateCallbackKey(() =>
      generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    );
    return fromPrivateKeyPem(pem, 'the callback key in the metadata database');
  }
  if (options.keyDir !== undefined) return loadCallbackKey(options.keyDir, { bits });
  // FIDELITY: no data dir (in-memory server): a fresh key per start; app servers re-fetch it by URL.
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return fromPrivateKeyPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'generated key');
}
