/** GetBucketInfo (`GET /?bucketInfo`): the BucketInfo document ali-oss getBucketInfo returns as `bucket`. */
import { requireBucket } from '../request-arguments.ts';
import { header, type Operation } from '../pipeline/request-context.ts';
import { bucketEndpoints, bucketInfoResult } from '../responses/bucket-info.ts';

export const getBucketInfo: Operation = async (ctx, deps) => {
  const bucket = await deps.store.getBucket(requireBucket(ctx));
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: bucketInfoResult({
      bucket,
      owner: deps.owner,
      region: deps.region,
      endpoints: bucketEndpoints(header(ctx, 'host') ?? '', bucket.name),
    }),
  };
};
