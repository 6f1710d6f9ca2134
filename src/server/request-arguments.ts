/**
 * Request arguments the operations share: the bucket and key a route names (every operation), the
 * upload a multipart request names, part numbers, numeric paging arguments and the object Location
 * reported by CompleteMultipartUpload and PostObject.
 *
 * Invariant: every value is validated here, so an operation never passes a NaN, an out-of-range
 * number or a missing bucket or key to the store; bad input is the OSS error, never a 500.
 */
import { ossError } from '../shared/oss-error.ts';
import type { UploadRef } from '../store/object-store.ts';
import { header, type RequestContext } from './pipeline/request-context.ts';

export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10_000;
/** OSS: a part is at most 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

/** The bucket, key and uploadId a multipart request names. @throws NoSuchUpload (empty uploadId) */
export function uploadRefOf(ctx: RequestContext): UploadRef {
  const { bucket, key } = requireObject(ctx);
  const uploadId = ctx.query.get('uploadId') ?? '';
  if (uploadId === '') throw ossError('NoSuchUpload', { details: { UploadId: uploadId } });
  return { bucket, key, uploadId };
}

/** The bucket and key of an object-level route (the router guarantees both). */
export function requireObject(ctx: RequestContext): { bucket: string; key: string } {
  if (ctx.bucket === undefined || ctx.key === undefined) throw ossError('InvalidObjectName');
  return { bucket: ctx.bucket, key: ctx.key };
}

export function requireBucket(ctx: RequestContext): string {
  if (ctx.bucket === undefined) throw ossError('InvalidBucketName');
  return ctx.bucket;
}

/** `partNumber` query value. @throws InvalidArgument unless an integer in 1..10000 */
export function parsePartNumber(value: string | null): number {
  const number = value !== null && /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(number >= MIN_PART_NUMBER && number <= MAX_PART_NUMBER)) {
    throw ossError('InvalidArgument', {
      message: `Part number must be an integer between ${MIN_PART_NUMBER} and ${MAX_PART_NUMBER}, inclusive.`,
      details: { ArgumentName: 'partNumber', ArgumentValue: value ?? '' },
    });
  }
  return number;
}

/**
 * A non-negative integer query argument (`max-parts`, `max-uploads`, `part-number-marker`),
 * `fallback` when absent. @throws InvalidArgument when not an integer in `min`..`max`
 */
export function parseIntegerArgument(
  query: URLSearchParams,
  name: string,
  range: { fallback: number; min: number; max: number },
): number {
  const value = query.get(name);
  if (value === null || value === '') return range.fallback;
  const number = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(number >= range.min && number <= range.max)) {
    throw ossError('InvalidArgument', {
      message: `Argument ${name} must be an integer between ${range.min} and ${range.max}.`,
      details: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return number;
}

/**
 * The object's URL as the client addressed the server: virtual-host style when the Host already
 * names the bucket, path style otherwise (CompleteMultipartUploadResult / PostResponse Location).
 */
export function objectLocation(ctx: RequestContext, bucket: string, key: string): string {
  const host = header(ctx, 'host') ?? '';
  const proto = header(ctx, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  const path = key.split('/').map(encodeURIComponent).join('/');
  const virtualHost = host.toLowerCase().startsWith(`${bucket}.`);
  return virtualHost ? `${proto}://${host}/${path}` : `${proto}://${host}/${bucket}/${path}`;
}
