/**
 * ListObjects (`GET /` on a bucket, V1): keys in UTF-8 byte order under `prefix`, after `marker`,
 * folded at `delimiter` into CommonPrefixes, at most `max-keys` entries (Contents and
 * CommonPrefixes together), NextMarker only when truncated, `encoding-type=url` supported.
 */
import { listObjectsPage } from './list-objects-page.ts';
import { parseMaxKeys, storeKeyRange } from './list-objects-request.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { listBucketResult } from '../responses/list-bucket-result.ts';

export const listObjects: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const maxKeys = parseMaxKeys(ctx.query);
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  const page = await listObjectsPage(storeKeyRange(deps.store, bucket), {
    prefix,
    delimiter,
    after: marker,
    maxKeys,
  });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: listBucketResult({
      bucket,
      prefix,
      delimiter,
      marker,
      maxKeys,
      encodingType,
      objects: page.objects,
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
      now: deps.now(),
      nextMarker: page.nextAfter,
      owner: deps.owner,
    }),
  };
};
