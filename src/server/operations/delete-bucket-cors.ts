/** DeleteBucketCors (`DELETE /?cors`): removes every CORS rule; 204, also when there were none. */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteBucketCors: Operation = async (ctx, deps) => {
  await deps.store.putBucketSetting(requireBucket(ctx), 'cors', undefined);
  return { status: 204 };
};
