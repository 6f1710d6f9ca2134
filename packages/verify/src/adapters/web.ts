/**
 * Web-standard adapter: `Request` in, `Response` out, for Hono, Next.js route handlers, Bun, Deno
 * and anything else built on fetch types.
 *
 *   // Hono:    app.all('/oss-callback', (c) => handleOssCallback(c.req.raw));
 *   // Next.js: export const POST = (req: Request) => handleOssCallback(req);
 *
 * The request-target is taken from `request.url` (path + search). WHATWG URL parsing may
 * re-encode some path characters that OSS signed raw; when the framework exposes the raw
 * target (node servers do, as `req.url`), pass it as `target`.
 */
import {
  DEFAULT_CALLBACK_REPLY,
  internalErrorReply,
  jsonReply,
  rejectionReply,
  type CallbackReply,
  type JsonValue,
} from '../callback-reply.ts';
import { CallbackVerificationError } from '../callback-verification-error.ts';
import {
  DEFAULT_MAX_CALLBACK_BODY_BYTES,
  verifyOssCallback,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from '../verify-oss-callback.ts';

export interface WebVerifyOptions extends VerifyOssCallbackOptions {
  /** The raw request-target, when the framework knows it better than `request.url`. */
  target?: string;
}

export interface WebHandlerOptions extends WebVerifyOptions {
  onVerified?: (callback: VerifiedCallback, request: Request) => JsonValue | Promise<JsonValue>;
  onRejected?: (error: CallbackVerificationError, request: Request) => void;
}

/** Reads (capped) and verifies a web Request. @throws CallbackVerificationError */
export async function verifyWebRequest(
  request: Request,
  options: WebVerifyOptions = {},
): Promise<VerifiedCallback> {
  if (request.method.toUpperCase() !== 'POST') {
    throw new CallbackVerificationError(
      'method-not-allowed',
      `OSS callbacks are POST requests, not ${request.method}.`,
    );
  }
  if (request.bodyUsed) {
    throw new CallbackVerificationError('body-unavailable', 'The request body was already read.');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BODY_BYTES;
  const body = await readWebBody(request, maxBodyBytes);
  const url = new URL(request.url);
  const target = options.target ?? `${url.pathname}${url.search}`;
  return verifyOssCallback({ method: 'POST', target, headers: request.headers, body }, options);
}

export async function handleOssCallback(
  request: Request,
  options: WebHandlerOptions = {},
): Promise<Response> {
  let verified: VerifiedCallback;
  try {
    verified = await verifyWebRequest(request, options);
  } catch (err) {
    if (!(err instanceof CallbackVerificationError)) return toResponse(internalErrorReply());
    options.onRejected?.(err, request);
    return toResponse(rejectionReply(err));
  }
  try {
    const value = options.onVerified ? await options.onVerified(verified, request) : DEFAULT_CALLBACK_REPLY;
    return toResponse(jsonReply(200, value));
  } catch {
    return toResponse(internalErrorReply());
  }
}

/** A reusable handler: `createWebHandler(options)(request)`. */
export function createWebHandler(options: WebHandlerOptions = {}): (request: Request) => Promise<Response> {
  return (request) => handleOssCallback(request, options);
}

/** A body string (not a stream) keeps Content-Length explicit on every runtime (SPEC.md §5.2). */
export function toResponse(reply: CallbackReply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}

async function readWebBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new CallbackVerificationError('body-too-large', `The callback body exceeds ${maxBytes} bytes.`);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new CallbackVerificationError('body-too-large', `The callback body exceeds ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
