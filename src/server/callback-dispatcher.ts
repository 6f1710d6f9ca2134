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
import type { KeyObject } from 'node:crypto';
import { connect as netConnect, type LookupFunction } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, errors as undiciErrors, type buildConnector, type Dispatcher } from 'undici';
import { buildCallbackRequests, type CallbackRequest } from '../callback/build-callback-request.ts';
import { signCallbackAsync } from '../callback/callback-signature.ts';
import type { CallbackSpec } from '../callback/parse-callback.ts';
import type { UploadFacts } from '../callback/render-callback-body.ts';
import { ossError, type OssError } from '../shared/oss-error.ts';
import { isPrivateAddress, publicOnlyLookup } from './callback-address-guard.ts';

/** §4: 5 s, fixed in OSS. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 5000;
/** §5.1 [U]: "≤ 1 MB" (S2, S4) vs "3 MB"; 1 MiB by default. */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

export interface CallbackDispatcherOptions {
  /** The signing key, or a function resolving it on first use (a key generated lazily). */
  privateKey: KeyObject | (() => Promise<KeyObject>);
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
  /** Verify the app server's TLS certificate (default true). */
  rejectUnauthorized?: boolean;
}

export interface CallbackContext {
  /** The upload's request id: `x-oss-request-id` of the callback. */
  requestId: string;
  /** Requester id; defaults to the owner. */
  requester?: string | undefined;
}

export type CallbackOutcome =
  | { ok: true; status: 200; body: Buffer; url: URL; latencyMs: number }
  | { ok: false; error: OssError; url: URL | undefined; latencyMs: number };

export interface CallbackDispatcher {
  dispatch(spec: CallbackSpec, facts: UploadFacts, context: CallbackContext): Promise<CallbackOutcome>;
  /** Closes the keep-alive connections. */
  close(): Promise<void>;
}

const EC_STATUS = '0007-00000203';
const EC_TIMEOUT = '0007-00000202';
const EC_JSON = '0007-00000205';

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
  const lookup = options.forbidPrivateAddresses === true ? publicOnlyLookup : undefined;
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  // FIDELITY: OSS sends `Connection: close` (§4); we keep connections alive instead, because a
  // loopback callback costs several times more without reuse (DESIGN.md). App servers see no
  // difference in the request they verify.
  const agentOptions = { keepAliveTimeout: 4000, keepAliveMaxTimeout: 60_000, pipelining: 1 };
  const withSni = new Agent({ ...agentOptions, connect: connector(true, lookup, rejectUnauthorized) });
  const withoutSni = new Agent({ ...agentOptions, connect: connector(false, lookup, rejectUnauthorized) });

  async function attempt(request: CallbackRequest, sni: boolean): Promise<Buffer> {
    const key = typeof options.privateKey === 'function' ? await options.privateKey() : options.privateKey;
    const authorization = await signCallbackAsync(request.target, request.body, key);
    const controller = new AbortController();
    const started = Date.now();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await (sni ? withSni : withoutSni).request({
        origin: request.url.origin,
        path: request.target,
        method: 'POST',
        headers: { ...request.headers, authorization },
        body: request.body,
        signal: controller.signal,
      });
      return await judgeReply(response, maxReplyBytes, controller.signal);
    } catch (error) {
      if (error instanceof AttemptFailure) throw error;
      if (controller.signal.aborted) {
        const cost = Math.max(Date.now() - started, timeoutMs);
        // FIDELITY: OSS appends internal codes (`(err -4, errno115)`, §5.2); we end at the timeout.
        throw new AttemptFailure(
          `Error status : -1 ${hostPort(request.url)} reply timeout, cost:${cost}ms, timeout:${timeoutMs}ms`,
          EC_TIMEOUT,
        );
      }
      throw transportFailure(error);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async dispatch(spec, facts, context) {
      const requests = buildCallbackRequests(spec, facts, {
        date: options.now(),
        requestId: context.requestId,
        keyUrl: typeof options.keyUrl === 'string' ? options.keyUrl : options.keyUrl(),
        owner: options.owner,
        requester: context.requester,
      });
      const started = Date.now();
      let last: AttemptFailure = new AttemptFailure('Error status : -1.', undefined);
      let lastUrl: URL | undefined;
      // §4: URLs are tried in order until the first success; no retries.
      for (const request of requests) {
        lastUrl = request.url;
        try {
          const body = await attempt(request, spec.sni);
          return { ok: true, status: 200, body, url: request.url, latencyMs: Date.now() - started };
        } catch (error) {
          last = error instanceof AttemptFailure ? error : transportFailure(error);
        }
      }
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
      };
    },
    async close() {
      await Promise.all([withSni.close(), withoutSni.close()]);
    },
  };
}

/** §5.1 in order: status, Content-Length, size, JSON. Drains or destroys the body either way. */
async function judgeReply(
  response: Dispatcher.ResponseData,
  maxReplyBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const { statusCode, headers, body } = response;
  if (statusCode !== 200) {
    // §4: redirects are not followed; a 301 is `Error status : 301.`
    await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    throw new AttemptFailure(`Error status : ${statusCode}.`, EC_STATUS);
  }
  const rawLength = headers['content-length'];
  if (rawLength === undefined) {
    discard(body);
    throw new AttemptFailure('Error Status : 400.User server missing content-length.', undefined);
  }
  const lengthText = Array.isArray(rawLength) ? rawLength[0] : rawLength;
  if (lengthText === undefined || !/^\d+$/.test(lengthText.trim()) || Number(lengthText) <= 0) {
    discard(body);
    // The typo "conent" is OSS's (§5.2).
    throw new AttemptFailure('Error Status : 400.User server return invalid conent-length value.', undefined);
  }
  const length = Number(lengthText);
  if (length > maxReplyBytes) {
    discard(body);
    throw new AttemptFailure(
      'Error Status : 400.User server return too long content-length value.',
      undefined,
    );
  }
  let data: Buffer;
  try {
    data = Buffer.from(await body.arrayBuffer());
  } catch (error) {
    if (signal.aborted) throw error; // the deadline, reported as a timeout by the caller
    // The reply ended before the declared length (undici checks it, or the peer closed early).
    throw new AttemptFailure('Error Status : 400.User server return invalid conent-length value.', undefined);
  }
  if (!isJson(data)) throw new AttemptFailure('Response body is not valid json format.', EC_JSON);
  return data;
}

/** Strict: UTF-8, no BOM (§5.1, S3), any JSON value. */
function isJson(data: Buffer): boolean {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return false;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    return false;
  }
  try {
    JSON.parse(text);
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

function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function hostPort(url: URL): string {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return `${url.hostname}:${port}`;
}

/**
 * undici connector that controls SNI: without `callbackSNI` no server name is sent (§2.2), but
 * the certificate is still checked against the URL host.
 */
function connector(
  sni: boolean,
  lookup: LookupFunction | undefined,
  rejectUnauthorized: boolean,
): buildConnector.connector {
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const host = opts.hostname;
    // net.connect skips `lookup` for IP literals, so the private-address switch checks them here.
    if (lookup !== undefined && isPrivateAddress(host)) {
      const refused = Object.assign(new Error('Private address is forbidden to callback.'), {
        code: 'EPRIVATEADDRESS',
      });
      queueMicrotask(() => callback(refused, null));
      return;
    }
    const socket =
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
}
