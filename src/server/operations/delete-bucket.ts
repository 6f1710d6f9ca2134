/**
 * DeleteBucket (`DELETE /` on a bucket): 204 once the bucket is gone; NoSuchBucket when it does
 * not exist, BucketNotEmpty (409) while objects or multipart uploads remain.
 */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteBucket: Operation = async (ctx, deps) => {
  await deps.store.deleteBucket(requireBucket(ctx));
  return { status: 204 };
};
