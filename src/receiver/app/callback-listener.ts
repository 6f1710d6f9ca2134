/**
 * The callback route (a POST to `callbackPath`) served on bare `node:http`, in front of Fastify:
 * the receiver's one hot path. Everything else, and any request this listener does not take,
 * goes to Fastify unchanged (its router, the request guard, the API, the dashboard; the same
 * route is still registered there through `ossCallbackPlugin`, which serves `app.inject()` and
 * the methods other than POST).
 *
 * Why: under load Fastify's request path (routing, the content-type parser, four hooks, the reply
 * pipeline) cost as much main-thread CPU per callback as the RSA check (bench/findings.md), and
 * a callback needs none of it: the route is not behind the Host check or the API token.
 *
 * Invariant: a callback answered here gets what the Fastify route gives it: the body capped at
 * `maxBodyBytes` (413 and `Connection: close` beyond), the verifier's 400/413 replies, the
 * receiver's `onVerified`/`onRejected` (dedup, first reply, records, refusal logs), 500 with an
 * error log line when recording fails, a request id from Fastify's own sequence, the request
 * metrics and the one log line per request. While Fastify closes, requests go to it (503).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CallbackVerificationError,
  internalErrorReply,
  jsonReply,
  readRawBody,
  rejectionReply,
  verifyOssCallback,
  writeCallbackReply,
  type CallbackReply,
  type JsonValue,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from 'upcall-verify';
import type { AnsweredRequest } from './receiver-observability.ts';

const JSON_UTF8 = 'application/json; charset=utf-8';

/** What the receiver's callback handlers read of a request, whichever path served it. */
export interface CallbackContext {
  headers: IncomingMessage['headers'];
  /** The raw request-target. */
  target: string;
  /** The client address (X-Forwarded-For's first hop with `trustProxy`). */
  ip: string;
  /** The raw body, when it was read (absent for a body refused as too large). */
  body: unknown;
  /** `performance.now()` when the request arrived, for the record's latencyMs. */
  arrivedAt: number | undefined;
  /** The request's logger (with its reqId). */
  log(): { warn(details: object, message: string): void; error(details: object, message: string): void };
}

export interface CallbackListenerOptions {
  callbackPath: string;
  verify: VerifyOssCallbackOptions & { maxBodyBytes: number };
  trustProxy: boolean;
  /** The next request id, from the sequence Fastify's requests use too. */
  nextRequestId(): string;
  /** A logger for one request (Fastify's app logger, child with the reqId). */
  requestLog(reqId: string): ReturnType<CallbackContext['log']>;
  /** True once Fastify has started closing: it then answers 503 itself. */
  isClosing(): boolean;
  onVerified(callback: VerifiedCallback, context: CallbackContext): Promise<JsonValue>;
  onRejected(error: CallbackVerificationError, context: CallbackContext): void;
  /** After the reply has been handed to the socket: metrics, the log line, kicking hooks. */
  onAnswered(answered: AnsweredRequest): void;
}

/** Returns a listener that serves a callback POST and answers true, or false for Fastify's turn. */
export function createCallbackListener(
  options: CallbackListenerOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { callbackPath } = options;
  const withSlash = `${callbackPath}/`;
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    // Exactly the paths Fastify's route matches as written; anything else (percent-encoded
    // spellings, duplicate slashes) goes to Fastify, which decides as before.
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== callbackPath && path !== withSlash) return false;
    if (options.isClosing()) return false;
    void serve(options, req, res, path, url);
    return true;
  };
}

async function serve(
  options: CallbackListenerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  target: string,
): Promise<void> {
  const arrivedAt = performance.now();
  const reqId = options.nextRequestId();
  let log: ReturnType<CallbackContext['log']> | undefined;
  const context: CallbackContext = {
    headers: req.headers,
    target,
    ip: clientIp(req, options.trustProxy),
    body: undefined,
    arrivedAt,
    log: () => (log ??= options.requestLog(reqId)),
  };
  let reply: CallbackReply;
  let close = false;
  try {
    const body = await readRawBody(req, options.verify.maxBodyBytes);
    context.body = body;
    const verified = await verifyOssCallback(
      { method: 'POST', target, headers: req.headers, body },
      options.verify,
    );
    reply = jsonReply(200, await options.onVerified(verified, context));
  } catch (err) {
    if (err instanceof CallbackVerificationError) {
      options.onRejected(err, context);
      reply = rejectionReply(err);
      // The rest of an oversize body is never read: the connection cannot carry another request.
      close = err.reason === 'body-too-large';
    } else {
      context.log().error({ err }, 'OSS callback handler failed');
      reply = internalErrorReply();
    }
  }
  // Fastify's reply added the charset; the wire stays as it was (the reply object is this one's own).
  reply.headers['content-type'] = JSON_UTF8;
  try {
    writeCallbackReply(res, reply, close);
    options.onAnswered({
      reqId,
      method: 'POST',
      path,
      // Fastify's route pattern for both spellings, as the metrics have always labelled it.
      route: options.callbackPath,
      status: reply.status,
      bytesIn: Number(req.headers['content-length'] ?? 0) || 0,
      bytesOut: Buffer.byteLength(reply.body),
      durationMs: performance.now() - arrivedAt,
      ossRequestId: req.headers['x-oss-request-id'],
    });
  } catch (err) {
    // Never an unhandled rejection (it would end the process): a failure past the reply is logged.
    context.log().error({ err }, 'OSS callback reply failed');
  }
}

/**
 * The address Fastify's `request.ip` gives: the socket's peer, or with `trustProxy` the first
 * (client-most) X-Forwarded-For hop, since every proxy is trusted then.
 */
function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    if (typeof forwarded === 'string') {
      const first = forwarded.split(',', 1)[0]!.trim();
      if (first !== '') return first;
    }
  }
  return req.socket.remoteAddress ?? '';
}
