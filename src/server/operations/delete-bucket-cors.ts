/** DeleteBucketCors (`DELETE /?cors`): removes every CORS rule; 204, also when there were none. */
import { requireBucket } from '../multipart-request.ts';
import type { Operation } from '../request-context.ts';

export const deleteBucketCors: Operation = async (ctx, deps) => {
  await deps.store.setBucketCors(requireBucket(ctx), undefined);
  return { status: 204 };
};
