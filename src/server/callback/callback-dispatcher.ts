/**
 * The I/O half of upload callbacks (SPEC.md §4, §5): sends the signed callback POST to each
 * callbackUrl in order until one succeeds, and judges the app server's reply.
 *
 * Owns: the undici agents (keep-alive, one pair per server), the per-attempt deadline, no
 * redirects, SNI only when `callbackSNI` is true, the reply checks of §5.1 (exactly 200, a valid
 * Content-Length within the cap, JSON without BOM) and the exact §5.2 failure messages.
 * Invariant: `dispatch` never throws and never outlives its deadline per URL; a failure is a
 * CallbackFailed OssError value (203), the object having been stored already.
 */
import { isUtf8 } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, errors as undiciErrors, type buildConnector, type Dispatcher } from 'undici';
import {
  callbackRequestsWithBody,
  createCallbackRequestBuilder,
  type CallbackRequest,
} from '../../callback/build-callback-request.ts';
import type { CallbackSpec } from '../../callback/parse-callback.ts';
import type { UploadFacts } from '../../callback/render-callback-body.ts';
import { ossError, type OssError } from '../../shared/oss-error.ts';
import {
  pinnedLookup,
  privateAddressError,
  systemCallbackAddressGuard,
  type CallbackAddressGuard,
} from './callback-address-guard.ts';
import { createCallbackSigner } from './callback-signer.ts';

/** §4: 5 s, fixed in OSS. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 5000;
/** §5.1 [U]: "≤ 1 MB" (S2, S4) vs "3 MB"; 1 MiB by default. */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

export interface CallbackDispatcherOptions {
  /**
   * The signing key, or a function resolving it on first use (a key generated lazily). `null`:
   * callbacks go out unsigned (no `Authorization`, no `x-oss-pub-key-url`; see `unsigned` in
   * callback-service.ts).
   */
  privateKey: KeyObject | (() => Promise<KeyObject>) | null;
  /** Sent base64-encoded in `x-oss-pub-key-url`; a function when it is known only after listen. */
  keyUrl: string | (() => string);
  /** Bucket owner id for `x-oss-owner` / `x-oss-requester`. */
  owner: string;
  now: () => Date;
  /** Deadline of one attempt (connect + request + whole reply). Default 5000. */
  timeoutMs?: number;
  /** Largest reply body accepted. Default 1 MiB. */
  maxReplyBytes?: number;
  /** Refuse to connect to private addresses (real OSS behaviour; off by default). */
  forbidPrivateAddresses?: boolean;
  /** What resolves and checks callback hosts when `forbidPrivateAddresses` (default: system DNS). */
  addressGuard?: CallbackAddressGuard | undefined;
  /** Verify the app server's TLS certificate (default true). */
  rejectUnauthorized?: boolean;
}

export interface CallbackContext {
  /** The upload's request id: `x-oss-request-id` of the callback. */
  requestId: string;
  /** Requester id; defaults to the owner. */
  requester?: string | undefined;
}

/** One POST of a send, in the order tried: the callback log keeps each (issue 18). */
export interface CallbackAttemptOutcome {
  url: URL;
  ok: boolean;
  /** The §5.2 message of a failed attempt, '' for the success. */
  message: string;
  latencyMs: number;
}

export type CallbackOutcome = (
  | { ok: true; status: 200; body: Buffer; url: URL; latencyMs: number }
  | { ok: false; error: OssError; url: URL | undefined; latencyMs: number }
) & { attempts: CallbackAttemptOutcome[] };

/** What a prepared callback is for: the upload it reports, as the callback log records it. */
export interface CallbackOrigin {
  readonly requestId: string;
  readonly bucket: string;
  readonly key: string;
  readonly operation: string;
  readonly requester?: string | undefined;
  readonly sni: boolean;
  readonly host?: string | undefined;
  readonly bodyType: string;
}

/** A logged callback to send again (callback-log.ts): the same body to the same URLs. */
export interface CallbackToRedeliver extends CallbackOrigin {
  readonly urls: readonly string[];
  readonly body: Buffer;
}

/**
 * A callback built and being signed, not sent yet: `prepare` can run as soon as the upload's facts
 * are known (the body hashed), so the RSA signature is computed while the store commits.
 */
export interface PreparedCallback {
  readonly requests: readonly CallbackRequest[];
  readonly sni: boolean;
  /** The Authorization value of each request once asked for; the first one is started at once. */
  readonly authorizations: (Promise<string> | undefined)[];
  readonly origin: CallbackOrigin;
}

export interface CallbackDispatcher {
  /** Builds the requests and starts signing the first; never throws, never sends. */
  prepare(spec: CallbackSpec, facts: UploadFacts, context: CallbackContext): PreparedCallback;
  /** Sends a prepared callback: each URL in order until one succeeds (§4). Never throws. */
  send(prepared: PreparedCallback): Promise<CallbackOutcome>;
  /**
   * A logged callback ready to send again: the same body and URLs, a fresh `Date` and so a new
   * signature (issue 18). Never throws for a URL list that parsed once.
   */
  prepareRedelivery(callback: CallbackToRedeliver): PreparedCallback;
  /** `send(prepare(…))`. */
  dispatch(spec: CallbackSpec, facts: UploadFacts, context: CallbackContext): Promise<CallbackOutcome>;
  /** Closes the keep-alive connections. */
  close(): Promise<void>;
}

const EC_STATUS = '0007-00000203';
const EC_TIMEOUT = '0007-00000202';
const EC_JSON = '0007-00000205';
/** A non-200 reply body up to this size is read and dropped, so its connection can be reused. */
const DISCARD_LIMIT = 64 * 1024;

/** A failure of one attempt, before it becomes the OssError of the last attempt. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly ec: string | undefined,
  ) {
    super(message);
  }
}

export function createCallbackDispatcher(options: CallbackDispatcherOptions): CallbackDispatcher {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const guard =
    options.forbidPrivateAddresses === true
      ? (options.addressGuard ?? systemCallbackAddressGuard)
      : undefined;
  // FIDELITY: https callback URLs get their certificate verified (OSS documents no check); off
  // only by configuration. SNI is sent only with `callbackSNI` (connector below).
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  // The dispatcher's own memo of parsed templates, URL parts, key URL and date (build-callback-request.ts).
  const buildRequests = createCallbackRequestBuilder();
  const key = options.privateKey;
  // Absent for unsigned callbacks: nothing to sign, no Authorization, no key URL.
  const signer = key === null ? undefined : createCallbackSigner(key);
  const sign =
    signer === undefined
      ? undefined
      : (request: CallbackRequest): Promise<string> => signer.sign(request.target, request.body);
  // FIDELITY: OSS sends `Connection: close` (§4); we keep connections alive instead, because a
  // loopback callback costs several times more without reuse (DESIGN.md). App servers see no
  // difference in the request they verify.
  const agentOptions = { keepAliveTimeout: 4000, keepAliveMaxTimeout: 60_000, pipelining: 1 };
  const withSni = new Agent({ ...agentOptions, connect: connector(true, guard, rejectUnauthorized) });
  const withoutSni = new Agent({ ...agentOptions, connect: connector(false, guard, rejectUnauthorized) });

  function authorization(
    prepared: PreparedCallback,
    index: number,
    signer: (request: CallbackRequest) => Promise<string>,
  ): Promise<string> {
    const started = prepared.authorizations[index];
    if (started !== undefined) return started;
    const signing = signer(prepared.requests[index] as CallbackRequest);
    // Nobody may ever await it (the upload failed after `prepare`): never an unhandled rejection.
    signing.catch(() => undefined);
    prepared.authorizations[index] = signing;
    return signing;
  }

  async function attempt(prepared: PreparedCallback, index: number): Promise<Buffer> {
    const request = prepared.requests[index] as CallbackRequest;
    let headers = request.headers;
    // A signing failure is this attempt's failure; send() maps it like a transport error.
    if (sign !== undefined) {
      headers = { ...headers, authorization: await authorization(prepared, index, sign) };
    }
    return post(prepared.sni ? withSni : withoutSni, request, headers, timeoutMs, maxReplyBytes);
  }

  /** The key URL to send: none for unsigned callbacks; a function is asked anew (the port may change). */
  const keyUrlNow = (): string | undefined =>
    sign === undefined ? undefined : typeof options.keyUrl === 'string' ? options.keyUrl : options.keyUrl();

  const dispatcher: CallbackDispatcher = {
    prepare(spec, facts, context) {
      const requests = buildRequests(spec, facts, {
        date: options.now(),
        requestId: context.requestId,
        keyUrl: keyUrlNow(),
        owner: options.owner,
        requester: context.requester,
      });
      const prepared: PreparedCallback = {
        requests,
        sni: spec.sni,
        authorizations: [],
        origin: {
          requestId: context.requestId,
          bucket: facts.bucket,
          key: facts.object,
          operation: facts.operation,
          requester: context.requester,
          sni: spec.sni,
          host: spec.host,
          bodyType: spec.bodyType,
        },
      };
      if (sign !== undefined && requests.length > 0) void authorization(prepared, 0, sign);
      return prepared;
    },
    prepareRedelivery(callback) {
      const target = {
        urls: callback.urls.map((url) => new URL(url)),
        host: callback.host,
        bodyType: callback.bodyType,
      };
      const requests = callbackRequestsWithBody(target, callback.body, callback.bucket, {
        date: options.now(),
        requestId: callback.requestId,
        keyUrl: keyUrlNow(),
        owner: options.owner,
        requester: callback.requester,
      });
      return {
        requests,
        sni: callback.sni,
        authorizations: [],
        origin: callback,
      };
    },
    async send(prepared) {
      const started = Date.now();
      let last: AttemptFailure | undefined;
      let lastUrl: URL | undefined;
      const attempts: CallbackAttemptOutcome[] = [];
      // §4: URLs are tried in order until the first success; no retries.
      for (let index = 0; index < prepared.requests.length; index++) {
        lastUrl = (prepared.requests[index] as CallbackRequest).url;
        const attemptStarted = Date.now();
        try {
          const body = await attempt(prepared, index);
          const latencyMs = Date.now() - started;
          attempts.push({ url: lastUrl, ok: true, message: '', latencyMs: Date.now() - attemptStarted });
          return { ok: true, status: 200, body, url: lastUrl, latencyMs, attempts };
        } catch (error) {
          last = error instanceof AttemptFailure ? error : transportFailure(error);
          attempts.push({
            url: lastUrl,
            ok: false,
            message: last.message,
            latencyMs: Date.now() - attemptStarted,
          });
        }
      }
      last ??= new AttemptFailure('Error status : -1.', undefined);
      // FIDELITY: when every URL fails, the last attempt's message is reported (SPEC §4 [U]).
      const details: Record<string, string> = {};
      if (last.ec !== undefined) {
        // §6.2: newer OSS responses point at the troubleshooting page of the EC.
        details['EC'] = last.ec;
        details['RecommendDoc'] = `https://api.aliyun.com/troubleshoot?q=${last.ec}`;
      }
      return {
        ok: false,
        error: ossError('CallbackFailed', { message: last.message, details }),
        url: lastUrl,
        latencyMs: Date.now() - started,
        attempts,
      };
    },
    dispatch(spec, facts, context) {
      return dispatcher.send(dispatcher.prepare(spec, facts, context));
    },
    async close() {
      await Promise.all([withSni.close(), withoutSni.close(), signer?.close()]);
    },
  };
  return dispatcher;
}

/**
 * One POST over a keep-alive agent, on undici's handler API rather than `request()`: no body stream,
 * promise chain or AbortSignal per callback, about half the CPU of a small exchange (bench/findings.md).
 * Resolves with the reply body once §5.1's checks pass (status, Content-Length, size, JSON);
 * rejects with an AttemptFailure carrying the §5.2 message. The deadline covers the whole attempt.
 */
function post(
  agent: Agent,
  request: CallbackRequest,
  headers: Record<string, string>,
  timeoutMs: number,
  maxReplyBytes: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let timedOut = false;
    /** After a non-200 status: its failure, reported once the body is read and dropped. */
    let statusFailure: AttemptFailure | undefined;
    /** A 200 with an acceptable Content-Length: its body is being read. */
    let reading = false;
    let received = 0;
    const chunks: Buffer[] = [];
    const fail = (failure: AttemptFailure, abort: boolean): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(failure);
      }
      if (abort && controller !== undefined && !controller.aborted) controller.abort(failure);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      const cost = Math.max(Date.now() - started, timeoutMs);
      // FIDELITY: OSS appends internal codes (`(err -4, errno115)`, §5.2); we end at the timeout.
      const failure = new AttemptFailure(
        `Error status : -1 ${hostPort(request.url)} reply timeout, cost:${cost}ms, timeout:${timeoutMs}ms`,
        EC_TIMEOUT,
      );
      // Still connecting or queued: onRequestStart aborts it once it gets a socket.
      fail(failure, true);
    }, timeoutMs);
    agent.dispatch(
      { origin: request.url.origin, path: request.target, method: 'POST', headers, body: request.body },
      {
        onRequestStart(started) {
          controller = started;
          if (timedOut) started.abort(new AttemptFailure('timed out before connecting', EC_TIMEOUT));
        },
        onResponseStart(_controller, statusCode, responseHeaders) {
          if (statusCode < 200 || settled) return;
          if (statusCode !== 200) {
            // §4: redirects are not followed; a 301 is `Error status : 301.`
            statusFailure = new AttemptFailure(`Error status : ${statusCode}.`, EC_STATUS);
            return;
          }
          const failure = contentLengthFailure(responseHeaders['content-length'], maxReplyBytes);
          if (failure !== undefined) fail(failure, true);
          else reading = true;
        },
        onResponseData(_controller, chunk) {
          received += chunk.length;
          if (statusFailure !== undefined) {
            if (received > DISCARD_LIMIT) fail(statusFailure, true);
          } else if (!settled) {
            chunks.push(chunk);
          }
        },
        onResponseEnd() {
          if (settled) return;
          if (statusFailure !== undefined) return fail(statusFailure, false);
          settled = true;
          clearTimeout(timer);
          const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          if (isJson(data)) resolve(data);
          else reject(new AttemptFailure('Response body is not valid json format.', EC_JSON));
        },
        onResponseError(_controller, error) {
          if (settled) return;
          // The reply started fine and then broke off: it ended before its declared length.
          // FIDELITY: reported as OSS's "invalid conent-length value" message (§5.2 [U]).
          fail(
            statusFailure ??
              (reading
                ? new AttemptFailure(
                    'Error Status : 400.User server return invalid conent-length value.',
                    undefined,
                  )
                : transportFailure(error)),
            false,
          );
        },
      },
    );
  });
}

/** §5.1 in order after the status: present, a positive integer, within the cap. */
function contentLengthFailure(
  raw: string | string[] | undefined,
  maxReplyBytes: number,
): AttemptFailure | undefined {
  if (raw === undefined) {
    return new AttemptFailure('Error Status : 400.User server missing content-length.', undefined);
  }
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || !/^\d+$/.test(text.trim()) || Number(text) <= 0) {
    // The typo "conent" is OSS's (§5.2).
    return new AttemptFailure(
      'Error Status : 400.User server return invalid conent-length value.',
      undefined,
    );
  }
  if (Number(text) > maxReplyBytes) {
    return new AttemptFailure(
      'Error Status : 400.User server return too long content-length value.',
      undefined,
    );
  }
  return undefined;
}

/** Strict: UTF-8, no BOM (§5.1, S3), any JSON value. */
function isJson(data: Buffer): boolean {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return false;
  if (!isUtf8(data)) return false;
  try {
    JSON.parse(data.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Maps a socket-level failure to the §5.2 message OSS gives for it. */
function transportFailure(error: unknown): AttemptFailure {
  const code = errorCode(error);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EPRIVATEADDRESS' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new AttemptFailure(
      'Error status : -1.OSS can not connect to your callbackUrl, please check it.',
      undefined,
    );
  }
  // llhttp refuses a malformed Content-Length before undici hands us a response.
  const parserContentLength =
    error instanceof undiciErrors.HTTPParserError && /content-length/i.test(error.message);
  if (
    parserContentLength ||
    code === 'HPE_INVALID_CONTENT_LENGTH' ||
    code === 'HPE_UNEXPECTED_CONTENT_LENGTH'
  ) {
    return new AttemptFailure(
      'Error Status : 400.User server return invalid conent-length value.',
      undefined,
    );
  }
  // A TLS or SNI handshake failure, a reset or a close before the reply (§5.2, EC presumably 203).
  // FIDELITY: these are 502 with EC 0007-00000203; refused or unresolvable hosts are the -1
  // "can not connect" message (above).
  return new AttemptFailure('Error status : 502.', EC_STATUS);
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // undici wraps parser and socket errors; the node code sits on the error or its cause.
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof undiciErrors.UndiciError ? (error as { code?: string }).code : undefined;
}

function hostPort(url: URL): string {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return `${url.hostname}:${port}`;
}

/**
 * undici connector that controls SNI: without `callbackSNI` no server name is sent (§2.2), but
 * the certificate is still checked against the URL host. With the private-address switch on, the
 * host is resolved once through the guard and the socket connects to exactly the addresses it
 * checked (callback-address-guard.ts: no second look-up, so no rebinding window).
 */
function connector(
  sni: boolean,
  guard: CallbackAddressGuard | undefined,
  rejectUnauthorized: boolean,
): buildConnector.connector {
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const host = opts.hostname;
    const open = (lookup: LookupFunction | undefined): void => {
      const socket: Socket =
        opts.protocol === 'https:'
          ? tlsConnect({
              host,
              port,
              ...(sni ? { servername: host } : {}),
              ...(lookup ? { lookup } : {}),
              rejectUnauthorized,
              ALPNProtocols: ['http/1.1'],
            })
          : netConnect({ host, port, ...(lookup ? { lookup } : {}) });
      socket.setNoDelay(true);
      let done = false;
      socket.once(opts.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        if (done) return;
        done = true;
        callback(null, socket);
      });
      socket.once('error', (error: Error) => {
        if (done) return;
        done = true;
        callback(error, null);
      });
    };
    if (guard === undefined) {
      open(undefined);
      return;
    }
    // net.connect skips `lookup` for IP literals, so a literal is checked here on its own.
    if (guard.isForbidden(host)) {
      queueMicrotask(() => callback(privateAddressError(), null));
      return;
    }
    guard.resolve(host).then(
      (addresses) => open(pinnedLookup(addresses)),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}
