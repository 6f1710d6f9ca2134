/**
 * HeadObject (`HEAD /key`): the headers GetObject would send, without a body. Conditional headers
 * apply as on GetObject (304 / 412).
 */
import { evaluateConditions } from '../conditional.ts';
import { requireObject } from '../request-arguments.ts';
import { objectHeaders } from '../object-meta.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const headObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const object = await deps.store.headObject(bucket, key);
  const headers = objectHeaders(object, deps.now());
  if (evaluateConditions(ctx.headers, object) === 'not-modified') {
    return { status: 304, headers: notModifiedHeaders(headers) };
  }
  return { status: 200, headers: { ...headers, 'Content-Length': object.size } };
};

/** RFC 7232 §4.1: a 304 repeats the validators and caching headers, not the representation's. */
export function notModifiedHeaders(headers: Record<string, string | number | undefined>) {
  return {
    ETag: headers['ETag'],
    'Last-Modified': headers['Last-Modified'],
    'Cache-Control': headers['Cache-Control'],
    Expires: headers['Expires'],
    'Content-Length': 0,
  };
}
