/**
 * The callback log's admin endpoint (issue 18, docs/operations.md "Callback log and redelivery"):
 *
 *   GET  /_upcall/callbacks?failed=1&bucket=&key=&since=&limit=&marker=   → JSON page, newest first
 *   POST /_upcall/callbacks/redeliver   {"requestId": "…"} | {"failed": true}   → JSON results
 *
 * Answered only on the service host (path style): `_` is never valid in a bucket name, so no
 * bucket or object request can collide with these paths; on a bucket's virtual host the same path
 * stays an object request, the rule that serves `/callback_pub_key_v1.pem` (callback-key.ts).
 * Only the root access key may ask, in an ordinary OSS V1/V4 signature (what the CLI's client
 * sends) over the resource `/_upcall/callbacks[/redeliver]`; temporary credentials and anonymous
 * requests get AccessDenied. Failures are OSS error XML like every other answer.
 */
import type { Readable } from 'node:stream';
import { ossError } from '../../shared/oss-error.ts';
import type { CallbackLogEntry, CallbackLogQuery } from '../../store/callback-log.ts';
import { authenticate, type AuthenticateDeps, type AuthenticateRequest } from '../pipeline/authenticate.ts';
import type { OssResponse } from '../pipeline/request-context.ts';
import { UPCALL_PATH_PREFIX } from '../observability/upcall-endpoints.ts';
import type { CallbackLogRecorder } from './callback-log-recorder.ts';

export const CALLBACKS_PATH = `${UPCALL_PATH_PREFIX}callbacks`;
export const REDELIVER_PATH = `${UPCALL_PATH_PREFIX}callbacks/redeliver`;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
/** A redeliver request is one small JSON object. */
const MAX_REDELIVER_BODY_BYTES = 4096;

/** Whether a path-style request path is one of this endpoint's. */
export function isCallbacksAdminPath(rawPath: string): boolean {
  return rawPath === CALLBACKS_PATH || rawPath === REDELIVER_PATH;
}

/**
 * Answers a request for one of the paths above (the caller checked `isCallbacksAdminPath` and
 * that the Host is not a bucket's). `recorder` absent: the server runs without a callback log.
 * @throws OssError AccessDenied | InvalidArgument | MethodNotAllowed | NotImplemented | signature errors
 */
export async function callbacksAdmin(
  request: AuthenticateRequest & { body: Readable },
  auth: AuthenticateDeps,
  recorder: CallbackLogRecorder | undefined,
): Promise<OssResponse> {
  // Signed as path style: bucket `_upcall`, key `callbacks[/redeliver]`, resource = the path.
  const key = request.rawPath.slice(UPCALL_PATH_PREFIX.length);
  const principal = authenticate({ ...request, bucket: '_upcall', key }, auth);
  if (principal.kind !== 'root') {
    throw ossError('AccessDenied', { message: 'The callback log is open to the root access key only.' });
  }
  const expected = request.rawPath === CALLBACKS_PATH ? 'GET' : 'POST';
  if (request.method !== expected) {
    throw ossError('MethodNotAllowed', { details: { Method: request.method, ResourceType: 'CallbackLog' } });
  }
  if (recorder === undefined) {
    throw ossError('NotImplemented', {
      message: 'This server keeps no callback log (started with --no-callback-log, or its store has none).',
    });
  }
  if (expected === 'GET') {
    // Entries still waiting for their batch commit belong in the answer.
    await recorder.flush();
    const page = await recorder.log.list(listQuery(request.query));
    return json({
      callbacks: page.entries.map(entryJson),
      ...(page.nextMarker !== undefined && { nextMarker: page.nextMarker }),
    });
  }
  const target = redeliverTarget(await readSmallBody(request.body));
  if ('failed' in target) return json({ redelivered: await recorder.redeliverFailed() });
  const result = await recorder.redeliver(target.requestId);
  if (result === undefined) {
    // FIDELITY: an upcall-only endpoint; OSS has no code for "no such callback", so the
    // catalogue's InvalidArgument names the argument.
    throw ossError('InvalidArgument', {
      message: 'No callback with this request id is in the callback log.',
      details: { ArgumentName: 'requestId', ArgumentValue: target.requestId },
    });
  }
  return json({ redelivered: [result] });
}

function listQuery(query: URLSearchParams): CallbackLogQuery {
  const out: CallbackLogQuery = { limit: DEFAULT_LIST_LIMIT };
  const failed = query.get('failed');
  if (failed !== null) {
    if (!['1', 'true', '0', 'false', ''].includes(failed)) throw invalid('failed', failed);
    out.failed = failed === '1' || failed === 'true' || failed === '';
  }
  const bucket = query.get('bucket');
  if (bucket !== null && bucket !== '') out.bucket = bucket;
  const key = query.get('key');
  if (key !== null && key !== '') out.key = key;
  const since = query.get('since');
  if (since !== null && since !== '') {
    const at = Date.parse(since);
    if (Number.isNaN(at)) throw invalid('since', since, 'since must be an ISO 8601 time.');
    out.since = new Date(at);
  }
  const limit = query.get('limit');
  if (limit !== null) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_LIST_LIMIT)) {
      throw invalid('limit', limit, `limit must be an integer from 1 to ${MAX_LIST_LIMIT}.`);
    }
    out.limit = n;
  }
  const marker = query.get('marker');
  if (marker !== null && marker !== '') {
    if (!/^\d{1,15}$/.test(marker)) throw invalid('marker', marker);
    out.marker = marker;
  }
  return out;
}

/** `{ failed: true }` or the request id asked for. */
function redeliverTarget(text: string): { failed: true } | { requestId: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid(
      'body',
      text.slice(0, 64),
      'The body must be JSON: {"requestId": "…"} or {"failed": true}.',
    );
  }
  if (typeof body === 'object' && body !== null) {
    const { requestId, failed } = body as { requestId?: unknown; failed?: unknown };
    if (failed === true && requestId === undefined) return { failed: true };
    if (typeof requestId === 'string' && requestId !== '' && failed === undefined) return { requestId };
  }
  throw invalid('body', text.slice(0, 64), 'The body must be {"requestId": "…"} or {"failed": true}.');
}

function invalid(name: string, value: string, message = `Invalid ${name}.`): Error {
  return ossError('InvalidArgument', { message, details: { ArgumentName: name, ArgumentValue: value } });
}

/** Reads at most MAX_REDELIVER_BODY_BYTES; more is refused without reading the rest. */
function readSmallBody(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_REDELIVER_BODY_BYTES) {
        body.off('data', onData);
        body.pause();
        reject(invalid('body', '', `The body must be at most ${MAX_REDELIVER_BODY_BYTES} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    body.on('data', onData);
    body.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.once('error', reject);
  });
}

/** The wire form of an entry: times as ISO 8601, the body as the UTF-8 text it was rendered from. */
function entryJson(entry: CallbackLogEntry): Record<string, unknown> {
  const latest = entry.deliveries.at(-1);
  return {
    requestId: entry.requestId,
    bucket: entry.bucket,
    key: entry.key,
    operation: entry.operation,
    createdAt: entry.createdAt.toISOString(),
    failed: latest?.ok === false,
    reason: latest?.message ?? '',
    urls: entry.request.urls,
    ...(entry.request.host !== undefined && { callbackHost: entry.request.host }),
    bodyType: entry.request.bodyType,
    body: entry.request.body.toString('utf8'),
    deliveries: entry.deliveries.map((delivery) => ({ ...delivery, at: delivery.at.toISOString() })),
  };
}

function json(value: unknown): OssResponse {
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}
