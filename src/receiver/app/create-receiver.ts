/**
 * The ready-made app server: receives OSS callbacks, verifies them, records every one in SQLite
 * (or PostgreSQL, shared by several instances: `databaseUrl`), runs user hooks and answers JSON
 * within the deadline; serves the records over a REST API.
 *
 *   const receiver = await createReceiver({ dataDir: './data', keyUrlAllowlist: [...] });
 *   await receiver.listen();   // POST /callback, GET /api/uploads, GET /api/uploads/:id
 *
 * Anyone may post to the callback URL, so what a refused callback leaves is bounded (a body
 * excerpt, the newest `refusedRecordsKept`); everything but the callback is behind the Host check
 * and, when set, the API token (`request-guard.ts`).
 *
 * Invariant: the callback route does only what the reply depends on (verify, one database
 * transaction, the optional sync hook within its budget); async hooks run after the reply from
 * the durable queue, so a slow hook can never make OSS time out (SPEC.md §4, 5 s).
 */
import type { KeyObject } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';
import {
  DEFAULT_MAX_CALLBACK_BODY_BYTES,
  ossCallbackPlugin,
  parseCallbackBody,
  type CallbackBodyFacts,
  type JsonValue,
  type CallbackVerificationError,
  createPublicKeyResolver,
  type VerifiedCallback,
} from 'upcall-verify';
import { createCallbackListener, type CallbackContext } from './callback-listener.ts';
import { createIssuedTemplateMatcher, type IssuedCallbackTemplate } from '../issued-callback-template.ts';
import {
  DEFAULT_POLICY_CALLBACK_BODY,
  registerCredentialEndpoints,
  type ReceiverCredentials,
} from './credential-endpoints.ts';
import {
  DEFAULT_MAX_ATTEMPTS,
  startHookWorker,
  type HookWorker,
  type StoreHookRunnerOptions,
} from './hook-worker.ts';
import { forwardHooks } from './forward-hook.ts';
import { openSqliteReceiverStore } from './sqlite-receiver-store.ts';
import { runSyncHook, type UploadHooks } from './upload-hooks.ts';
import type { NewUploadRecord, UploadRecord } from './upload-record.ts';
import { LIST_BODY_EXCERPT_BYTES, type HookJobQueue, type UploadRepository } from './upload-repository.ts';
import { installReceiverObservability } from './receiver-observability.ts';
import { installRequestGuard, isLoopbackHost } from './request-guard.ts';
import type { ReceiverHealthCheck } from './sqlite-health.ts';
import { registerUploadsApi } from './uploads-api.ts';

export interface ReceiverOptions {
  /** Directory for `receiver.sqlite`; created if missing. Not used when `store` or `databaseUrl` is given. */
  dataDir?: string;
  /**
   * A PostgreSQL URL (`postgres://user:pass@host:5432/db`): records and hook jobs in that
   * database, shared by every receiver instance pointed at it (pg-receiver-store.ts); hook jobs
   * run through graphile-worker. Opened and closed with the receiver. Not used when `store` is given.
   */
  databaseUrl?: string;
  /**
   * URLs each verified upload's record is POSTed to as JSON (with an `Idempotency-Key` header),
   * as durable hooks retried with backoff until they answer 2xx (forward-hook.ts).
   */
  forwardTo?: readonly string[];
  /**
   * Records and hook jobs kept somewhere other than SQLite (e.g. PostgreSQL implementing the
   * contracts of `upload-repository.ts`). The caller owns it: `close()` leaves it open.
   */
  store?: ReceiverStore;
  /** Key URL prefixes to fetch callback keys from. Default: the official OSS key host only. */
  keyUrlAllowlist?: readonly string[];
  /** A pinned callback public key (no fetching). Mutually exclusive with keyUrlAllowlist. */
  publicKey?: string | Uint8Array | KeyObject;
  keyFetchTimeoutMs?: number;
  /** Where OSS posts callbacks. Default `/callback`. */
  callbackPath?: string;
  /** The largest callback body accepted; a larger one is answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** The JSON answered for a verified callback. Default `{"Status":"OK","id":…,"object":…}`. */
  reply?: (record: UploadRecord) => JsonValue | Promise<JsonValue>;
  hooks?: UploadHooks;
  /**
   * Record refused callbacks too (verified: false, with the reason), to debug a setup. Default
   * true. Anyone can post junk to the callback URL, so each keeps a 4 KiB body excerpt and only
   * the newest `refusedRecordsKept` are kept.
   */
  recordRejected?: boolean;
  /**
   * How many refused callbacks to keep (the newest; older ones are deleted as new ones come).
   * Each keeps only the first 4 KiB of its body. Default 1000.
   */
  refusedRecordsKept?: number;
  /** Enables `GET /sts`, `/api/sts` and `/api/post-policy` (SPEC.md §10), scoped per user. */
  credentials?: ReceiverCredentials;
  /**
   * The callback templates this app binds into the credentials and policies it issues: a record
   * whose body renders one of them is marked `templateIssued` (docs/receiver.md "Threat").
   * Default: the `credentials` template when `credentials` is given, else none.
   */
  issuedCallbackTemplates?: readonly IssuedCallbackTemplate[];
  /**
   * Mounts extra routes (e.g. credential endpoints) on the same server. Hooks added here see
   * every request but callback POSTs, which are served in front of Fastify (callback-listener.ts).
   */
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /**
   * Required as `Authorization: Bearer <token>` (or the dashboard's sign-in cookie) on the REST
   * API and the dashboard; the callback route and the credential endpoints stay open
   * (`request-guard.ts`). Needed to bind anything but loopback, unless `insecureNoToken`.
   */
  apiToken?: string;
  /** Bind a non-loopback host without `apiToken`: anyone who reaches it reads every record. */
  insecureNoToken?: boolean;
  /**
   * Host names (besides localhost, IP addresses and the bound name) that requests other than
   * callbacks may carry in `Host`, e.g. the receiver's public name; `*` accepts any (DNS
   * rebinding protection off).
   */
  allowedHosts?: readonly string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Trust X-Forwarded-For for the recorded client IP (behind a proxy). Default false. */
  trustProxy?: boolean;
  /**
   * A pino logger (the CLI passes its own, at `--log-level`), or true for Fastify's default one.
   * One line per request at info, refused callbacks at warn (docs/operations.md "Logs").
   * Default false: silent.
   */
  logger?: boolean | Logger;
  now?: () => number;
}

export const DEFAULT_REFUSED_RECORDS_KEPT = 1000;

export interface ReceiverStore {
  uploads: UploadRepository;
  jobs: HookJobQueue;
  /** Readiness checks of the database (`/_upcall/health/ready`); absent: taken as ready. */
  checkHealth?(): Promise<ReceiverHealthCheck[]>;
  /**
   * Runs the hook jobs its own way (PostgreSQL: graphile-worker). Absent: the polling worker of
   * hook-worker.ts claims them from `jobs`.
   */
  startHookRunner?(options: StoreHookRunnerOptions): Promise<HookWorker>;
}

export interface Receiver {
  app: FastifyInstance;
  uploads: UploadRepository;
  jobs: HookJobQueue;
  /** Binds and returns the origin, e.g. `http://127.0.0.1:9090` (loopback for a wildcard bind). */
  listen(): Promise<string>;
  /** The callback URL to give OSS, once listening. */
  readonly callbackUrl: string | undefined;
  close(): Promise<void>;
}

export function defaultReceiverReply(record: UploadRecord): JsonValue {
  return defaultReply(record.id, record.object);
}

function defaultReply(id: number, object: string | undefined): JsonValue {
  return { Status: 'OK', id, object: object ?? null };
}

/** The given store (left open on close) or SQLite in dataDir (closed with the receiver). */
async function openReceiverStore(
  options: ReceiverOptions,
): Promise<ReceiverStore & { close(): Promise<void> }> {
  if (options.store !== undefined) {
    const { uploads, jobs } = options.store;
    const given = options.store;
    return {
      uploads,
      jobs,
      ...(given.checkHealth !== undefined && { checkHealth: () => given.checkHealth!() }),
      ...(given.startHookRunner !== undefined && {
        startHookRunner: (runner: StoreHookRunnerOptions) => given.startHookRunner!(runner),
      }),
      close: () => Promise.resolve(),
    };
  }
  if (options.databaseUrl !== undefined) {
    // Loaded only here: `pg` and graphile-worker are a receiver on SQLite's start-up time and memory.
    const { openPgReceiverStore } = await import('./pg-receiver-store.ts');
    return openPgReceiverStore(options.databaseUrl);
  }
  if (options.dataDir === undefined) throw new TypeError('createReceiver needs dataDir or store');
  return openSqliteReceiverStore(options.dataDir);
}

export async function createReceiver(options: ReceiverOptions): Promise<Receiver> {
  const now = options.now ?? Date.now;
  const callbackPath = options.callbackPath ?? '/callback';
  const hooks = options.hooks ?? {};
  const asyncHooks = { ...hooks.afterUpload, ...forwardHooks(options.forwardTo ?? []) };
  const hookNames = Object.keys(asyncHooks);
  const host = options.host ?? '127.0.0.1';
  if (options.apiToken === '') throw new TypeError('apiToken must not be empty');
  if (options.apiToken === undefined && options.insecureNoToken !== true && !isLoopbackHost(host)) {
    throw new TypeError(
      `Binding ${host} would serve every upload record and the dashboard to anyone who reaches it: set apiToken (upcall receiver --api-token / UPCALL_RECEIVER_TOKEN), bind 127.0.0.1, or opt out with insecureNoToken (--insecure-no-token).`,
    );
  }
  const refusedRecordsKept = options.refusedRecordsKept ?? DEFAULT_REFUSED_RECORDS_KEPT;
  const resolver = createPublicKeyResolver({
    ...(options.publicKey === undefined ? {} : { publicKey: options.publicKey }),
    ...(options.keyUrlAllowlist === undefined ? {} : { keyUrlAllowlist: options.keyUrlAllowlist }),
    ...(options.keyFetchTimeoutMs === undefined ? {} : { timeoutMs: options.keyFetchTimeoutMs }),
  });
  const isIssuedTemplate = createIssuedTemplateMatcher(
    options.issuedCallbackTemplates ??
      (options.credentials === undefined
        ? []
        : [{ body: options.credentials.callbackBody ?? DEFAULT_POLICY_CALLBACK_BODY }]),
  );
  const store = await openReceiverStore(options);
  let worker: HookWorker | undefined;
  let origin: string | undefined;
  const logger = options.logger ?? false;
  const trustProxy = options.trustProxy ?? false;
  // The callback route is served in front of Fastify (callback-listener.ts); this is set once
  // the server exists, before it listens.
  let serveCallback: (...args: Parameters<RequestListener>) => boolean = () => false;
  const nextRequestId = requestIdSequence();
  let closing = false;
  const app = Fastify({
    ...(typeof logger === 'boolean' ? { logger } : { loggerInstance: logger }),
    logController: new OneLinePerRequest(),
    trustProxy,
    genReqId: nextRequestId,
    serverFactory: (fastifyListener, serverOptions) =>
      callbackFirstServer(serverOptions, (req, res) => {
        if (!serveCallback(req, res)) fastifyListener(req, res);
      }),
  }) as unknown as FastifyInstance;
  // When each callback arrived (monotonic clock), for the record's latencyMs: the receiver can
  // only measure its own share of OSS's 5 s budget (the callback's Date header has 1 s resolution).
  const arrivals = new WeakMap<object, number>();
  try {
    app.addHook('onRequest', async (request) => {
      if (request.method === 'POST') arrivals.set(request.raw, performance.now());
    });
    app.addHook('preClose', async () => {
      closing = true;
    });
    const runnerOptions: StoreHookRunnerOptions = {
      uploads: store.uploads,
      hooks: asyncHooks,
      retry: hooks.retry ?? {},
      maxAttempts: hooks.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      jobTimeoutMs: hooks.jobTimeoutMs ?? 60_000,
      pollIntervalMs: hooks.pollIntervalMs ?? 1000,
      now,
      onJobError: (job, error) => app.log.warn({ err: error, job }, 'afterUpload hook failed'),
      onQueueError: (error) => app.log.error({ err: error }, 'hook queue failed'),
    };
    worker = await (store.startHookRunner?.(runnerOptions) ??
      startHookWorker({ ...runnerOptions, queue: store.jobs }));
    const runningWorker = worker;
    // Async hooks start only once the reply is on the wire (and only if there are any: the
    // interval still picks up jobs left from a run that had hooks).
    if (hookNames.length > 0) app.addHook('onResponse', async () => runningWorker.kick());

    // Built with one literal and plain assignments, no spread or computed keys: on the hot path
    // those took V8's slow generic copies (bench/findings.md).
    const recordOf = (
      request: CallbackContext,
      body: Uint8Array,
      verified: boolean,
      // A verified callback arrives parsed already; a refused one is parsed here, for the record.
      facts: CallbackBodyFacts = parseCallbackBody(headerText(request.headers['content-type']), body),
    ): NewUploadRecord => {
      const record: NewUploadRecord = {
        receivedAt: now(),
        verified,
        templateIssued: false,
        vars: facts.vars,
        fields: facts.fields,
        bodyFormat: facts.format,
        clientIp: request.ip,
        target: request.target,
        headers: flattenHeaders(request.headers),
        rawBody: body,
      };
      if (facts.bucket !== undefined) record.bucket = facts.bucket;
      if (facts.object !== undefined) record.object = facts.object;
      if (facts.etag !== undefined) record.etag = facts.etag;
      if (facts.size !== undefined) record.size = facts.size;
      if (facts.mimeType !== undefined) record.mimeType = facts.mimeType;
      if (facts.imageInfo !== undefined) record.imageInfo = facts.imageInfo;
      const requestId = headerText(request.headers['x-oss-request-id']);
      if (requestId !== undefined) record.requestId = requestId;
      return record;
    };

    const observability = installReceiverObservability(app, {
      callbackPath,
      jobs: store.jobs,
      checkHealth: store.checkHealth === undefined ? undefined : () => store.checkHealth!(),
    });

    /** The record of an earlier delivery of the same callback (same request id and signature). */
    const earlierDelivery = async (record: NewUploadRecord): Promise<UploadRecord | undefined> => {
      const signature = record.headers['authorization'];
      if (record.requestId === undefined || signature === undefined) return undefined;
      return store.uploads.findDelivery?.(record.requestId, signature);
    };

    const onVerified = async (callback: VerifiedCallback, request: CallbackContext): Promise<JsonValue> => {
      observability.callbackVerified();
      const record = recordOf(request, callback.rawBody, true, callback);
      record.templateIssued = isIssuedTemplate(callback.rawBody, headerText(request.headers['content-type']));
      if (callback.bucket !== undefined) record.bucket = callback.bucket;
      if (callback.keyUrl !== undefined) record.keyUrl = callback.keyUrl;
      /** A redelivery's answer, or the insert's own error when it is not one. */
      const firstReply = async (error: unknown): Promise<JsonValue> => {
        const earlier = await earlierDelivery(record);
        if (earlier === undefined) throw error;
        // A redelivery of a callback already recorded (its reply was lost on the way, issue 18):
        // nothing is recorded twice, and OSS gets the first reply again.
        return (
          earlier.reply ?? (options.reply ? await options.reply(earlier) : defaultReceiverReply(earlier))
        );
      };
      const latencyOf = (): number | undefined => {
        const arrived = request.arrivedAt;
        return arrived === undefined ? undefined : Math.round((performance.now() - arrived) * 100) / 100;
      };
      const uploads = store.uploads;
      if (hooks.onUpload === undefined && options.reply === undefined && uploads.insertWithReply) {
        // The default reply needs only the new id, so it is recorded with the upload in one write
        // (bench/findings.md); the latency then runs to the moment the reply is made.
        let value: JsonValue | undefined;
        try {
          await uploads.insertWithReply(record, hookNames, (id) => {
            value = defaultReply(id, record.object);
            const latencyMs = latencyOf();
            return latencyMs === undefined ? { reply: value } : { reply: value, latencyMs };
          });
        } catch (error) {
          return firstReply(error);
        }
        return value!;
      }
      let id: number;
      try {
        id = await store.uploads.insert(record, hookNames);
      } catch (error) {
        return firstReply(error);
      }
      const stored: UploadRecord = { ...record, id };
      let value: JsonValue | undefined;
      if (hooks.onUpload) {
        const outcome = await runSyncHook(hooks.onUpload, stored, hooks.syncBudgetMs ?? 2000);
        if (outcome.kind === 'reply') value = outcome.value;
        if (outcome.kind === 'timeout')
          request.log().warn({ id }, 'onUpload exceeded its budget; default reply sent');
      }
      value ??= options.reply ? await options.reply(stored) : defaultReceiverReply(stored);
      await store.uploads.setReply(id, value, latencyOf());
      return value;
    };

    const onRejected = (error: CallbackVerificationError, request: CallbackContext): void => {
      // A GET or HEAD (a browser, a health check) is not a callback attempt: answered 501, not recorded.
      if (error.reason === 'method-not-allowed') return;
      observability.callbackRefused();
      request
        .log()
        .warn(
          { reason: error.reason, ossRequestId: headerText(request.headers['x-oss-request-id']) },
          'callback refused',
        );
      if (options.recordRejected === false || refusedRecordsKept < 1) return;
      // Refused callbacks are recorded too (verified: false), so a developer can see why. Anyone
      // can post to the callback URL, so a refused one keeps a bounded excerpt (its facts are
      // parsed from that excerpt too), and only the newest `refusedRecordsKept` are kept.
      const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
      const excerpt = body.subarray(0, LIST_BODY_EXCERPT_BYTES);
      const record = recordOf(request, excerpt, false);
      record.rejectReason = error.reason;
      if (excerpt.byteLength < body.byteLength) record.bodySize = body.byteLength;
      store.uploads
        .insert(record, [])
        .then(() => store.uploads.pruneRefused?.(refusedRecordsKept))
        .catch((err: unknown) => request.log().error({ err }, 'recording failed'));
    };
    /** The Fastify route's view of a request, as the handlers above read it. */
    const contextOf = (request: FastifyRequest): CallbackContext => ({
      headers: request.headers,
      target: request.raw.url ?? request.url,
      ip: request.ip,
      body: request.body,
      arrivedAt: arrivals.get(request.raw),
      log: () => request.log,
    });

    installRequestGuard(app, {
      callbackPath,
      bindHost: host,
      ...(options.apiToken === undefined ? {} : { apiToken: options.apiToken }),
      ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    });
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BODY_BYTES;
    // Still registered: it serves app.inject() and the methods other than POST (501), and
    // whatever spelling of the path the listener below leaves to Fastify's router.
    await app.register(ossCallbackPlugin, {
      prefix: callbackPath,
      resolver,
      maxBodyBytes,
      onVerified: (callback: VerifiedCallback, request: FastifyRequest) =>
        onVerified(callback, contextOf(request)),
      onRejected: (error: CallbackVerificationError, request: FastifyRequest) =>
        onRejected(error, contextOf(request)),
    });
    serveCallback = createCallbackListener({
      callbackPath,
      verify: { resolver, maxBodyBytes },
      trustProxy,
      nextRequestId,
      requestLog: (reqId) => app.log.child({ reqId }),
      isClosing: () => closing,
      onVerified,
      onRejected,
      onAnswered: (answered) => {
        observability.requestAnswered(answered);
        // Async hooks start once the reply is on the wire, as the onResponse hook does for Fastify.
        if (hookNames.length > 0) runningWorker.kick();
      },
    });
    registerUploadsApi(app, { uploads: store.uploads, jobs: store.jobs });
    if (options.credentials) {
      registerCredentialEndpoints(app, options.credentials, {
        callbackUrl: () => (origin === undefined ? undefined : `${origin}${callbackPath}`),
        now,
      });
    }
    if (options.routes) await options.routes(app);
  } catch (err) {
    await worker?.close();
    await app.close();
    await store.close();
    throw err;
  }

  const activeWorker = worker;
  return {
    app,
    uploads: store.uploads,
    jobs: store.jobs,
    get callbackUrl() {
      return origin === undefined ? undefined : `${origin}${callbackPath}`;
    },
    async listen() {
      await app.listen({ port: options.port ?? 0, host });
      const address = app.server.address() as AddressInfo;
      // A wildcard bind (0.0.0.0, ::) is no address to call back to; on this machine it is
      // reached at loopback, which is what the default callback URL of /sts must name.
      const reached =
        address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
      const bound = address.family === 'IPv6' ? `[${reached}]` : reached;
      origin = `http://${bound}:${address.port}`;
      return origin;
    },
    async close() {
      await app.close();
      await activeWorker.close();
      await store.close();
    },
  };
}

/** Fastify's request ids (`req-1`, `req-2`, …), shared with the callback listener's requests. */
function requestIdSequence(): () => string {
  let next = 0;
  return () => {
    next = (next + 1) & 0x7fffffff;
    return `req-${next.toString(36)}`;
  };
}

/**
 * The HTTP server Fastify would make (its timeouts from the options it resolved), whose listener
 * offers each request to the callback route first.
 */
function callbackFirstServer(
  serverOptions: FastifyServerOptions,
  listener: RequestListener,
): ReturnType<typeof createServer> {
  const server = createServer(listener);
  if (serverOptions.keepAliveTimeout !== undefined) server.keepAliveTimeout = serverOptions.keepAliveTimeout;
  if (serverOptions.requestTimeout !== undefined) server.requestTimeout = serverOptions.requestTimeout;
  server.setTimeout(serverOptions.connectionTimeout ?? 0);
  return server;
}

/**
 * Fastify's two lines per request (the second without the route, the first with the query string,
 * which may hold a token) give way to the one receiver-observability.ts writes; its error lines stay.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(): void {}
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function flattenHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  // for…in rather than Object.entries: no array of pairs per callback. Node's header record has
  // no inherited enumerable keys.
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
    else if (value !== undefined) out[name] = value.join(', ');
  }
  return out;
}
