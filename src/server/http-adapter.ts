/**
 * The one place node's `req`/`res` are touched (STYLE.md §3.3): turns an IncomingMessage into the
 * dispatcher's IncomingRequest and writes the OssResponse it returns.
 *
 * Invariants:
 * - every response carries `x-oss-request-id` (24 upper-case hex), `Date` and `Server: AliyunOSS`;
 * - `res.writeHead` is called here and nowhere else; HEAD responses never carry a body;
 * - a request body the operation did not read is never left blocking the socket: the response
 *   says `Connection: close` and the rest is drained, so the next request never sees stale bytes;
 * - a client that goes away mid-request or mid-download never crashes the process.
 */
import {
  validateHeaderName,
  validateHeaderValue,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ossError } from '../shared/oss-error.ts';
import { dispatch, type DispatchConfig, type IncomingRequest } from './dispatch.ts';
import type { HeaderValue, OssResponse } from './request-context.ts';
import { nextRequestId } from './request-id.ts';
import { errorResponse } from './send-error.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Splits `req.url` (origin-form, or absolute-form from a proxy) into the raw path and query. */
export function splitRequestUrl(url: string): { rawPath: string; rawQuery: string } {
  let target = url;
  if (!target.startsWith('/')) {
    // absolute-form `http://host/path?q`: keep only the path and query, still undecoded.
    const scheme = target.indexOf('://');
    const slash = scheme === -1 ? -1 : target.indexOf('/', scheme + 3);
    target = slash === -1 ? '/' : target.slice(slash);
  }
  const question = target.indexOf('?');
  if (question === -1) return { rawPath: target, rawQuery: '' };
  return { rawPath: target.slice(0, question), rawQuery: target.slice(question + 1) };
}

export interface ListenerOptions {
  /** One info line per request (request id, method, path, status, ms). Off by default: it costs. */
  accessLog?: boolean;
}

export function createRequestListener(
  config: DispatchConfig,
  options: ListenerOptions = {},
): RequestListener {
  const { logger } = config.deps;
  return (req, res) => {
    const requestId = nextRequestId(Date.now());
    if (options.accessLog === true) logAccess(req, res, requestId, logger);
    handle(req, res, requestId, config).catch((error: unknown) => {
      // dispatch() never throws; this only catches a failure while writing, after headers.
      logger.error({ err: error }, 'failed to write a response');
      res.destroy();
    });
  };
}

function logAccess(req: IncomingMessage, res: ServerResponse, requestId: string, logger: Logger): void {
  const started = process.hrtime.bigint();
  res.once('close', () => {
    logger.info(
      {
        requestId,
        method: req.method,
        url: req.url,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        complete: res.writableFinished,
      },
      'request',
    );
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  config: DispatchConfig,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const { rawPath, rawQuery } = splitRequestUrl(req.url ?? '/');
  // A client that vanishes mid-upload makes `req` error; the store sees that through its
  // pipeline. Without a listener node would also report it as unhandled.
  req.on('error', () => {});
  const request: IncomingRequest = {
    requestId,
    method,
    rawPath,
    query: new URLSearchParams(rawQuery),
    headers: req.headers,
    body: req,
    clientIp: req.socket.remoteAddress,
  };
  const response = await dispatch(request, config);
  if (req.destroyed && !req.complete) {
    // The client is gone; nothing can be delivered. Release what the operation opened.
    if (response.body instanceof Readable) response.body.destroy();
    res.destroy();
    return;
  }
  await writeResponse(req, res, method, requestId, response, config.deps.logger);
}

async function writeResponse(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  requestId: string,
  response: OssResponse,
  log: Logger,
): Promise<void> {
  let current = response;
  let headers = wireHeaders(current, requestId);
  if (headers === undefined) {
    // An operation produced a header node cannot send (e.g. a response-* override with a newline).
    if (current.body instanceof Readable) current.body.destroy();
    current = errorResponse(
      ossError('InvalidArgument', { message: 'A response header value is not valid.' }),
      { requestId, method, host: req.headers.host ?? '' },
      log,
    );
    headers = wireHeaders(current, requestId) ?? {};
  }
  const { body } = current;
  const unreadBody = !req.complete;
  if (unreadBody) headers['Connection'] = 'close';
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    if (headers['Content-Length'] === undefined) headers['Content-Length'] = Buffer.byteLength(body);
  } else if (body === undefined && headers['Content-Length'] === undefined && method !== 'HEAD') {
    headers['Content-Length'] = 0;
  }
  res.writeHead(current.status, headers);
  if (unreadBody) req.resume();
  if (method === 'HEAD' || body === undefined) {
    if (body instanceof Readable) body.destroy();
    res.end();
    return;
  }
  if (!(body instanceof Readable)) {
    res.end(body);
    return;
  }
  try {
    await sendBody(body, res);
  } catch (error) {
    // A download the client abandoned is normal; a store read failing mid-body is not.
    if (!res.destroyed || !isClientAbort(error)) {
      log.error({ err: error, requestId }, 'response body failed mid-stream');
    }
    res.destroy();
  }
}

/**
 * Streams a body into the response; settles when the response has finished (or fails with the
 * body's error, or a premature close when the client leaves, after destroying the body). Not
 * `stream.pipeline`: it builds an AbortController for every response and on finish an AbortError
 * DOMException with its stack, about 5% of the server's time in a profile of 4 KiB GETs.
 */
async function sendBody(body: Readable, res: ServerResponse): Promise<void> {
  let bodyError: Error | undefined;
  body.once('error', (error) => {
    bodyError = error;
    res.destroy(error);
  });
  res.once('close', () => body.destroy());
  body.pipe(res);
  try {
    await finished(res);
  } catch (error) {
    // The response only reports a premature close; the store's error is the one to log.
    throw bodyError ?? error;
  }
}

function isClientAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** The response headers as node sends them, or undefined when one of them cannot be sent. */
function wireHeaders(response: OssResponse, requestId: string): Record<string, string | number> | undefined {
  const out: Record<string, string | number> = {
    Server: 'AliyunOSS',
    'x-oss-request-id': requestId,
  };
  for (const [name, value] of Object.entries<HeaderValue>(response.headers ?? {})) {
    if (value === undefined) continue;
    try {
      validateHeaderName(name);
      if (typeof value === 'string') validateHeaderValue(name, value);
    } catch {
      return undefined;
    }
    out[name] = value;
  }
  return out;
}
