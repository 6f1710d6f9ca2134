// One server under test as the client sees it: where it is, which bucket is its own, and how
// to sign for it. Requests are path-style (`/bucket/key`), which upcall, s3rver and the ceiling
// all accept.
import { Pool } from 'undici';
import { authorization } from './sign.js';

let cachedDate = '';
let cachedSecond = 0;
function httpDate() {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

/**
 * @typedef {object} Target
 * @property {string} name  shown in reports
 * @property {string} origin
 * @property {string} bucket
 * @property {number} pid  the server process, for RSS and CPU sampling
 * @property {ReturnType<typeof import('./sign.js').ossDialect> | undefined} dialect  undefined: unauthenticated (the ceiling)
 * @property {Record<string, unknown>} [extra]
 */

/**
 * @typedef {object} OpSpec
 * @property {string} method
 * @property {string} [key]  absent: a bucket-level request
 * @property {string} [subresource]  signed query, e.g. `uploads`
 * @property {string} [query]  unsigned query, e.g. `max-keys=1000`
 * @property {Record<string, string>} [headers]  lower-case names
 * @property {Buffer | import("node:stream").Readable} [body]  a stream needs its own content-length header
 */

/** @param {Target} target @param {OpSpec} op @returns {import('undici').Dispatcher.RequestOptions} */
export function buildRequest(target, op) {
  /** @type {Record<string, string>} */
  const headers = { date: httpDate(), ...op.headers };
  if (Buffer.isBuffer(op.body)) headers['content-length'] = String(op.body.length);
  if (target.dialect) {
    headers.authorization = authorization(target.dialect, {
      method: op.method,
      bucket: target.bucket,
      key: op.key,
      subresource: op.subresource,
      headers,
    });
  }
  const query = [op.subresource, op.query].filter(Boolean).join('&');
  const path = `/${target.bucket}/${op.key ?? ''}${query ? `?${query}` : ''}`;
  return {
    method: /** @type {import('undici').Dispatcher.HttpMethod} */ (op.method),
    path,
    headers,
    body: op.body,
  };
}

/** @param {Target} target @param {number} connections */
export function poolFor(target, connections) {
  return new Pool(target.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
}

/**
 * Sends one request and reads the whole answer.
 * @param {import('undici').Dispatcher} dispatcher @param {Target} target @param {OpSpec} op
 * @param {number[]} [okStatuses]
 */
export async function send(dispatcher, target, op, okStatuses = [200]) {
  const res = await dispatcher.request(buildRequest(target, op));
  const chunks = [];
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    if (bytes <= 4 * 1024 * 1024) chunks.push(chunk);
  }
  if (!okStatuses.includes(res.statusCode)) {
    const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
    throw new Error(`${target.name}: ${op.method} ${op.key ?? '/'} answered ${res.statusCode}: ${text}`);
  }
  return {
    status: res.statusCode,
    headers: res.headers,
    bytes,
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}
