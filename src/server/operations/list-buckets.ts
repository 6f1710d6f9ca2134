/**
 * ListBuckets (`GET /` without a bucket): the caller's buckets in name order, filtered by
 * `prefix`, starting after `marker`, at most `max-keys` (1..1000, default 100, OSS) per page,
 * with NextMarker when truncated.
 */
import { parseIntegerArgument } from '../request-arguments.ts';
import { header, type Operation } from '../pipeline/request-context.ts';
import { bucketEndpoints } from '../responses/bucket-info.ts';
import { listAllMyBucketsResult } from '../responses/list-all-my-buckets-result.ts';

export const listBuckets: Operation = async (ctx, deps) => {
  const maxKeys = parseIntegerArgument(ctx.query, 'max-keys', { fallback: 100, min: 1, max: 1000 });
  const prefix = ctx.query.get('prefix') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  // Bucket names are lower-case ASCII, so string order is byte order.
  const matching = (await deps.store.listBuckets())
    .filter((bucket) => bucket.name.startsWith(prefix) && bucket.name > marker)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = matching.slice(0, maxKeys);
  const isTruncated = matching.length > maxKeys;
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: listAllMyBucketsResult({
      owner: deps.owner,
      buckets: page,
      region: deps.region,
      endpoints: bucketEndpoints(header(ctx, 'host') ?? '', undefined),
      ...(ctx.query.has('prefix') && { prefix }),
      ...(ctx.query.has('marker') && { marker }),
      ...((ctx.query.has('max-keys') || isTruncated) && { maxKeys }),
      isTruncated,
      ...(isTruncated && { nextMarker: page.at(-1)?.name }),
    }),
  };
};
