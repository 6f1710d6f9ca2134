/**
 * The one place node's `req`/`res` are touched (STYLE.md §3.3): turns an IncomingMessage into the
 * dispatcher's IncomingRequest and writes the OssResponse it returns.
 *
 * Invariants:
 * - every response carries `x-oss-request-id` (24 upper-case hex), `Date` and `Server: AliyunOSS`;
 * - `res.writeHead` is called here and nowhere else; HEAD responses never carry a body;
 * - a request body the operation did not read is never left blocking the socket: the response
 *   says `Connection: close` and the rest is drained, so the next request never sees stale bytes;
 * - a client that goes away mid-request or mid-download never crashes the process;
 * - requests on one connection take effect in order: a pipelined request's operation starts only
 *   once the previous request's response has been written (node parses pipelined requests at once
 *   and only orders their responses, so a GET right behind a PUT of the same key would otherwise
 *   run before the PUT commits; issue 14);
 * - a body that stops arriving for `bodyTimeoutMs` gets RequestTimeout, and one the client cuts
 *   short with a half-close gets IncompleteBody, both as OSS XML, and the connection is closed.
 *   Node would hold a stalled body for its 300 s request timeout, and answer a half-close with a
 *   bare 400;
 * - every request, once its response has finished or its connection closed, is counted in the
 *   metrics and, when the logger's level is info or lower, logged as one line (docs/operations.md
 *   "Logs"). That line carries no header, no query string and no principal, so no signature,
 *   security token or cookie can reach it.
 */
import {
  validateHeaderName,
  validateHeaderValue,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ossError, type OssErrorCode } from '../../shared/oss-error.ts';
import { dispatch, type DispatchConfig, type IncomingRequest } from './dispatch.ts';
import type { RequestTrace } from '../observability/request-trace.ts';
import type { ServerMetrics } from '../observability/server-metrics.ts';
import type { HeaderValue, OssResponse } from './request-context.ts';
import { nextRequestId } from './request-id.ts';
import { errorResponse } from './send-error.ts';

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

/**
 * FIDELITY: OSS does not document how long it waits for a stalled body before RequestTimeout; 30 s
 * lets a client on a bad link pause without losing its upload, and frees a stalled socket ten times
 * sooner than node's own 300 s request timeout (docs/compatibility.md).
 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

export interface ServeOptions {
  /**
   * One line per request at info level (docs/operations.md "Logs"), written when the logger's level
   * lets info through. Default true; false turns it off whatever the level.
   */
  accessLog?: boolean;
  /** Where every request is counted (observability/server-metrics.ts). */
  metrics?: ServerMetrics | undefined;
  /** Longest pause between two bytes of a request body before RequestTimeout. */
  bodyTimeoutMs?: number;
}

/** One request on a connection, from its head until its response is written. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  /** An error was answered before the operation finished (body stalled or cut short). */
  answeredEarly: boolean;
  /** performance.now() when the request head arrived. */
  readonly started: number;
  readonly trace: RequestTrace;
}

/** What the adapter tracks per TCP connection. */
interface Connection {
  /** The request whose head arrived last: the one whose body the socket carries now. */
  latest: Exchange | undefined;
  /** Requests received and not yet answered. */
  open: number;
  /** Settles once the last request received so far has been handled; the next one waits for it. */
  tail: Promise<void> | undefined;
  /**
   * socket.bytesRead / bytesWritten when the previous request on the connection finished: a
   * request's bytes are what the connection carried since (pipelined requests read ahead are
   * counted with the one in front of them).
   */
  readMark: number;
  writeMark: number;
}

/**
 * Serves the storage server's requests on `server`: the request listener, plus the connection-level
 * handling node leaves to its users (body idle timeout, a body cut short, malformed requests).
 */
export function serveRequests(server: Server, config: DispatchConfig, options: ServeOptions = {}): void {
  const { logger } = config.deps;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const connections = new WeakMap<Socket, Connection>();

  const accessLog = options.accessLog !== false;
  const metrics = options.metrics;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = nextRequestId(Date.now());
    const socket = req.socket;
    let connection = connections.get(socket);
    if (connection === undefined) {
      connection = { latest: undefined, open: 0, tail: undefined, readMark: 0, writeMark: 0 };
      connections.set(socket, connection);
    }
    const exchange: Exchange = {
      req,
      res,
      requestId,
      method: (req.method ?? 'GET').toUpperCase(),
      answeredEarly: false,
      started: performance.now(),
      trace: {},
    };
    const counted = connection;
    res.once('close', () => finishRequest(exchange, counted, accessLog ? logger : undefined, metrics));
    connection.latest = exchange;
    connection.open++;
    const run = (): Promise<void> =>
      handle(exchange, config).catch((error: unknown) => {
        // dispatch() never throws; this only catches a failure while writing, after headers.
        logger.error({ err: error }, 'failed to write a response');
        res.destroy();
      });
    const owner = connection;
    const previous = owner.tail;
    // Without a request ahead (the usual case) the operation starts at once, in this tick.
    const done: Promise<void> = (previous === undefined ? run() : previous.then(run)).then(() => {
      owner.open--;
      if (owner.tail === done) owner.tail = undefined;
      // An idle keep-alive connection holds no request or response objects.
      if (owner.latest === exchange) owner.latest = undefined;
    });
    owner.tail = done;
  });

  // Node's socket idle timer: it fires after `timeout` ms without a byte either way. Node's default
  // reaction (destroy the socket) is kept for idle keep-alive connections; a body being received is
  // answered with RequestTimeout instead; a request whose body is in and whose operation runs (a
  // slow callback, a slow disk) is left alone.
  server.timeout = bodyTimeoutMs;
  server.on('timeout', (socket: Socket) => {
    const connection = connections.get(socket);
    const receiving = connection?.latest;
    if (receiving !== undefined && !receiving.req.complete && !receiving.answeredEarly) {
      // Bytes waiting unread mean the server is the one behind (disk backpressure, or a pipelined
      // request queued behind another): not the client's stall. Look again later.
      if (receiving.req.readableLength > 0) socket.setTimeout(bodyTimeoutMs);
      else answerEarly(receiving, 'RequestTimeout', logger);
      return;
    }
    if (connection === undefined || connection.open === 0) socket.destroy();
  });

  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    const receiving = connections.get(socket)?.latest;
    // A half-close (FIN) before Content-Length bytes: llhttp reports the EOF as a parse error.
    // FIDELITY: IncompleteBody names the fault exactly; OSS may answer RequestTimeout here.
    if (
      error.code === 'HPE_INVALID_EOF_STATE' &&
      receiving !== undefined &&
      !receiving.req.complete &&
      !receiving.answeredEarly
    ) {
      answerEarly(receiving, 'IncompleteBody', logger);
      return;
    }
    // Raw bytes may go out only while no response of ours is under way: none is open, or the one
    // open is the request being parsed and has written nothing yet (its own answer is then dropped).
    const open = connections.get(socket)?.open ?? 0;
    const quiet = open === 0 || (open === 1 && receiving !== undefined && !receiving.res.headersSent);
    rejectMalformed(error, socket, quiet);
  });
}

/**
 * Answers `code` for a request whose body will not arrive, then closes the connection (the rest of
 * the body can no longer be told from the next request). Once the socket has closed, the request
 * stream is destroyed, so the operation still reading it fails and its partial upload is discarded;
 * its own response is dropped (handle()).
 */
function answerEarly(exchange: Exchange, code: OssErrorCode, log: Logger): void {
  exchange.answeredEarly = true;
  const { req, res, requestId, method } = exchange;
  req.socket.once('close', () => req.destroy());
  if (res.headersSent || res.destroyed) {
    req.socket.destroy();
    return;
  }
  const response = errorResponse(ossError(code), { requestId, method, host: req.headers.host ?? '' }, log);
  // The request is incomplete, so writeResponse says `Connection: close`; node then ends the socket
  // once this response (or, pipelined, the ones queued before it) is flushed.
  writeResponse(exchange, response, log).catch(() => req.socket.destroy());
}

/**
 * Node's own answer to a request it cannot parse (what it does when no `clientError` listener
 * exists), except that nothing is written while a response of ours may be under way on the socket:
 * raw bytes would corrupt it.
 */
function rejectMalformed(error: Error & { code?: string }, socket: Socket, quiet: boolean): void {
  if (socket.writable && quiet) {
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? '413 Payload Too Large'
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(error);
}

/**
 * A request's response has finished, or its connection closed first: count it, and write its log
 * line. The line names the target by bucket and key (never the raw URL: a presigned URL's query
 * holds its Signature and security token) and carries no header.
 */
function finishRequest(
  exchange: Exchange,
  connection: Connection,
  logger: Logger | undefined,
  metrics: ServerMetrics | undefined,
): void {
  const { req, res, trace } = exchange;
  const socket = req.socket;
  const bytesIn = socket.bytesRead - connection.readMark;
  const bytesOut = socket.bytesWritten - connection.writeMark;
  connection.readMark = socket.bytesRead;
  connection.writeMark = socket.bytesWritten;
  const durationMs = performance.now() - exchange.started;
  const status = res.headersSent ? res.statusCode : undefined;
  metrics?.observeRequest({ operation: trace.action, status, bytesIn, bytesOut, durationMs });
  if (logger === undefined || !logger.isLevelEnabled('info')) return;
  logger.info(
    {
      requestId: exchange.requestId,
      method: exchange.method,
      bucket: trace.bucket,
      key: trace.key,
      operation: trace.action,
      status,
      code: trace.errorCode,
      bytesIn,
      bytesOut,
      durationMs: Math.round(durationMs * 1000) / 1000,
      clientIp: socket.remoteAddress,
      // false: the connection closed before the whole response was written.
      complete: res.writableFinished,
    },
    'request',
  );
}

async function handle(exchange: Exchange, config: DispatchConfig): Promise<void> {
  const { req, res, requestId, method } = exchange;
  // Answered while it waited behind a pipelined request ahead of it: nothing left to do.
  if (exchange.answeredEarly) return;
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
    trace: exchange.trace,
  };
  const response = await dispatch(request, config);
  if (exchange.answeredEarly || (req.destroyed && !req.complete)) {
    // The client is gone, or already has its answer; nothing more can be delivered. Release what
    // the operation opened.
    if (response.body instanceof Readable) response.body.destroy();
    if (!exchange.answeredEarly) res.destroy();
    return;
  }
  await writeResponse(exchange, response, config.deps.logger);
}

async function writeResponse(exchange: Exchange, response: OssResponse, log: Logger): Promise<void> {
  const { req, res, method, requestId } = exchange;
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
  // OSS answers 203 only as CallbackFailed (SPEC.md §6.2); that response is built from the
  // upload's success headers, so it carries no errorCode of its own.
  exchange.trace.errorCode = current.errorCode ?? (current.status === 203 ? 'CallbackFailed' : undefined);
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
