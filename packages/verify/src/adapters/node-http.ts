/**
 * node:http adapter: reads the raw body (capped), verifies, answers like the OSS demo server.
 *
 * `createNodeHandler` is a complete `(req, res)` request listener; `verifyNodeRequest` is the
 * building block for other node-stream frameworks (Express uses it). Invariant: the bytes
 * verified are the bytes on the socket (`req.url` is the raw request-target), and every reply
 * goes through `writeCallbackReply` (JSON + Content-Length).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_CALLBACK_REPLY,
  internalErrorReply,
  jsonReply,
  rejectionReply,
  type CallbackReply,
  type JsonValue,
} from '../callback-reply.ts';
import { CallbackVerificationError } from '../callback-verification-error.ts';
import { readRawBody } from '../read-raw-body.ts';
import {
  DEFAULT_MAX_CALLBACK_BODY_BYTES,
  verifyOssCallback,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from '../verify-oss-callback.ts';

/** A node request that a body parser may have decorated (Express sets `body`). */
export type NodeCallbackRequest = IncomingMessage & { body?: unknown };

export interface NodeHandlerOptions<
  Req extends IncomingMessage = IncomingMessage,
> extends VerifyOssCallbackOptions {
  /** Builds the JSON reply OSS relays to the uploader. Default `{"Status":"OK"}`. */
  onVerified?: (callback: VerifiedCallback, req: Req) => JsonValue | Promise<JsonValue>;
  /** Observes refused callbacks (logging); the reply is still the standard 400/413/501. */
  onRejected?: (error: CallbackVerificationError, req: Req) => void;
}

/** Reads and verifies one request. @throws CallbackVerificationError */
export async function verifyNodeRequest(
  req: NodeCallbackRequest,
  options: VerifyOssCallbackOptions = {},
): Promise<VerifiedCallback> {
  if ((req.method ?? 'GET').toUpperCase() !== 'POST') {
    throw new CallbackVerificationError(
      'method-not-allowed',
      `OSS callbacks are POST requests, not ${req.method}.`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BODY_BYTES;
  let body: Uint8Array;
  if (req.body instanceof Uint8Array) {
    body = req.body; // express.raw() already read the bytes
  } else if (req.body !== undefined && req.body !== null && !isEmptyParsedBody(req.body, req)) {
    throw new CallbackVerificationError(
      'body-unavailable',
      'The request body was parsed by other middleware (e.g. express.json()); verification needs the raw bytes.',
    );
  } else {
    body = await readRawBody(req, maxBodyBytes);
  }
  return verifyOssCallback({ method: 'POST', target: req.url ?? '/', headers: req.headers, body }, options);
}

// Express 5 leaves `req.body` undefined when no parser ran; some parsers set `{}` without reading.
function isEmptyParsedBody(body: unknown, req: IncomingMessage): boolean {
  return typeof body === 'object' && Object.keys(body as object).length === 0 && !req.readableEnded;
}

export function createNodeHandler<Req extends IncomingMessage = IncomingMessage>(
  options: NodeHandlerOptions<Req> = {},
): (req: Req, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let verified: VerifiedCallback;
    try {
      verified = await verifyNodeRequest(req, options);
    } catch (err) {
      if (!(err instanceof CallbackVerificationError)) {
        writeCallbackReply(res, internalErrorReply());
        return;
      }
      options.onRejected?.(err, req);
      writeCallbackReply(res, rejectionReply(err), err.reason === 'body-too-large');
      return;
    }
    let value: JsonValue;
    try {
      value = options.onVerified ? await options.onVerified(verified, req) : DEFAULT_CALLBACK_REPLY;
    } catch {
      writeCallbackReply(res, internalErrorReply());
      return;
    }
    writeCallbackReply(res, jsonReply(200, value));
  };
}

/** The one place node adapters write a reply. `close` is for replies sent before the body was read. */
export function writeCallbackReply(res: ServerResponse, reply: CallbackReply, close = false): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(reply.status, close ? { ...reply.headers, connection: 'close' } : reply.headers);
  res.end(reply.body);
}
