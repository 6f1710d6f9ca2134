/**
 * GetObject (`GET /key`): the object's body with the headers it was stored with.
 *
 * - Range (range.ts): one range → 206 + Content-Range; unsatisfiable → 416 InvalidRange; a header
 *   OSS would ignore → 200 with the whole object.
 * - Conditional headers (conditional.ts) → 304 Not Modified / 412 PreconditionFailed.
 * - `response-*` query parameters override the matching response headers (OSS GetObject).
 * - An Archive / ColdArchive / DeepColdArchive object is refused (403 InvalidObjectState) unless
 *   a RestoreObject has completed and not expired (storage-class.ts).
 *
 * Invariant: the range and the conditions are judged against the same version of the object whose
 * bytes are sent (the body is re-opened if the object was replaced in between).
 */
import { ossError } from '../../shared/oss-error.ts';
import type { ObjectStream, StoredObject } from '../../store/object-store.ts';
import { evaluateConditions } from '../conditional.ts';
import { requireObject } from '../request-arguments.ts';
import { objectHeaders } from '../object-meta.ts';
import { resolveRange } from '../range.ts';
import { requireReadable } from '../storage-class.ts';
import {
  header,
  type HeaderValue,
  type Operation,
  type RequestContext,
} from '../pipeline/request-context.ts';
import { notModifiedHeaders } from './head-object.ts';

/** Query parameter → the response header it replaces. */
const RESPONSE_OVERRIDES: ReadonlyArray<readonly [string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

const MAX_ATTEMPTS = 3;

export const getObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  for (let attempt = 1; ; attempt++) {
    const object = await deps.store.headObject(bucket, key);
    const now = deps.now();
    requireReadable(object, now);
    const headers = objectHeaders(object, now);
    if (evaluateConditions(ctx.headers, object) === 'not-modified') {
      return { status: 304, headers: notModifiedHeaders(headers) };
    }
    const range = resolveRange(header(ctx, 'range'), object.size);
    const stream: ObjectStream = await deps.store.getObject(bucket, key, range);
    if (!sameVersion(stream.object, object)) {
      // Replaced between the two reads: judge the new version instead. Headers, range and body
      // must describe one version, so a key rewritten faster than it can be read is refused.
      stream.body.destroy();
      if (attempt < MAX_ATTEMPTS) continue;
      throw ossError('ServiceUnavailable');
    }
    applyOverrides(ctx, headers);
    if (range === undefined) {
      return { status: 200, headers: { ...headers, 'Content-Length': object.size }, body: stream.body };
    }
    // Content-MD5 describes the whole body, not a part of it.
    delete headers['Content-MD5'];
    return {
      status: 206,
      headers: {
        ...headers,
        'Content-Range': `bytes ${range.start}-${range.end}/${object.size}`,
        'Content-Length': range.end - range.start + 1,
      },
      body: stream.body,
    };
  }
};

function sameVersion(a: StoredObject, b: StoredObject): boolean {
  return a.etag === b.etag && a.size === b.size && a.lastModified.getTime() === b.lastModified.getTime();
}

function applyOverrides(ctx: RequestContext, headers: Record<string, HeaderValue>): void {
  for (const [parameter, name] of RESPONSE_OVERRIDES) {
    const value = ctx.query.get(parameter);
    if (value === null) continue;
    if (/[\r\n]/.test(value)) {
      throw ossError('InvalidArgument', {
        message: `The value of ${parameter} is not valid.`,
        details: { ArgumentName: parameter, ArgumentValue: value },
      });
    }
    // Header values travel as bytes: send the UTF-8 of the value, as OSS does for e.g. a
    // `filename="报告.pdf"` disposition (node writes latin1 strings byte for byte).
    headers[name] = Buffer.from(value, 'utf8').toString('latin1');
  }
}
