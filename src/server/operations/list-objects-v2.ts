/**
 * ListObjectsV2 (`GET /?list-type=2`): as ListObjects, paged by `start-after` or an opaque
 * `continuation-token` (which wins when both are sent), with KeyCount, NextContinuationToken when
 * truncated, and Owner in Contents only with `fetch-owner=true`.
 *
 * The continuation token is the base64url of the last entry of the previous page; a token that
 * is not one this server could have issued is InvalidArgument.
 */
import { ossError } from '../../shared/oss-error.ts';
import { listObjectsPage } from './list-objects-page.ts';
import { parseMaxKeys, storeKeyRange } from './list-objects-request.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { listBucketResultV2 } from '../responses/list-bucket-result.ts';

export function encodeContinuationToken(after: string): string {
  return Buffer.from(after, 'utf8').toString('base64url');
}

/** @throws InvalidArgument when the token is not base64url of UTF-8 text */
export function decodeContinuationToken(token: string): string {
  const after = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  if (after === undefined || encodeContinuationToken(after) !== token) {
    // FIDELITY: OSS tokens are its own opaque format; a foreign or damaged token is InvalidArgument.
    throw ossError('InvalidArgument', {
      message: 'The continuation token provided is incorrect',
      details: { ArgumentName: 'continuation-token', ArgumentValue: token },
    });
  }
  return after;
}

export const listObjectsV2: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const listType = ctx.query.get('list-type');
  if (listType !== '2') {
    throw ossError('InvalidArgument', {
      message: 'list-type must be 2.',
      details: { ArgumentName: 'list-type', ArgumentValue: listType ?? '' },
    });
  }
  const maxKeys = parseMaxKeys(ctx.query);
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const startAfter = ctx.query.get('start-after') ?? undefined;
  const tokenParam = ctx.query.get('continuation-token') ?? '';
  const continuationToken = tokenParam === '' ? undefined : tokenParam;
  const fetchOwner = ctx.query.get('fetch-owner')?.toLowerCase() === 'true';
  const after =
    continuationToken !== undefined ? decodeContinuationToken(continuationToken) : (startAfter ?? '');

  const page = await listObjectsPage(storeKeyRange(deps.store, bucket), {
    prefix,
    delimiter,
    after,
    maxKeys,
  });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: listBucketResultV2({
      bucket,
      prefix,
      delimiter,
      maxKeys,
      encodingType,
      startAfter,
      continuationToken,
      objects: page.objects,
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
      now: deps.now(),
      nextContinuationToken:
        page.nextAfter !== undefined ? encodeContinuationToken(page.nextAfter) : undefined,
      owner: fetchOwner ? deps.owner : undefined,
    }),
  };
};
