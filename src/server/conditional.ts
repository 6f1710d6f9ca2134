/**
 * Conditional requests (RFC 7232 as OSS applies it to GetObject, HeadObject and, with the
 * `x-oss-copy-source-` prefix, CopyObject): If-Match and If-Unmodified-Since fail with 412
 * PreconditionFailed; If-None-Match and If-Modified-Since answer 304 Not Modified.
 *
 * Order (RFC 7232 §6): If-Match, else If-Unmodified-Since; then If-None-Match, else
 * If-Modified-Since. Dates compare at second precision (HTTP dates have no milliseconds);
 * unparseable dates are ignored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ossError } from '../shared/oss-error.ts';
import type { StoredObject } from '../store/object-store.ts';

export type ConditionResult = 'proceed' | 'not-modified';

/**
 * The header's value, or undefined when absent or empty. OSS treats an empty
 * `x-oss-copy-source-if-match` as if it were not sent (issue 20).
 */
// FIDELITY: the same is assumed of the other conditional headers, with or without the prefix;
// an empty value names no ETag and no date, so there is nothing to compare.
function nonEmpty(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text;
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return tag === '*' || tag.toUpperCase() === etag.toUpperCase();
  });
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Evaluates the conditional headers (names prefixed by `prefix`, e.g. `x-oss-copy-source-`).
 * A failure names the condition without the prefix (`If-Match`, `If-Unmodified-Since`), as OSS
 * does for CopyObject too.
 * @throws PreconditionFailed
 */
export function evaluateConditions(
  headers: IncomingHttpHeaders,
  object: StoredObject,
  prefix = '',
): ConditionResult {
  const ifMatch = nonEmpty(headers[`${prefix}if-match`]);
  const ifNoneMatch = nonEmpty(headers[`${prefix}if-none-match`]);
  const ifModifiedSince = parseHttpDate(nonEmpty(headers[`${prefix}if-modified-since`]));
  const ifUnmodifiedSince = parseHttpDate(nonEmpty(headers[`${prefix}if-unmodified-since`]));
  const modified = seconds(object.lastModified);

  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, object.etag)) throw preconditionFailed('If-Match');
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, object.etag)) return 'not-modified';
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    return 'not-modified';
  }
  return 'proceed';
}

function preconditionFailed(condition: string) {
  return ossError('PreconditionFailed', { details: { Condition: condition } });
}
