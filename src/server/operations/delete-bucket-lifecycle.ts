/** DeleteBucketLifecycle (`DELETE /?lifecycle`): removes every lifecycle rule; 204, also when there were none. */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteBucketLifecycle: Operation = async (ctx, deps) => {
  await deps.store.putBucketSetting(requireBucket(ctx), 'lifecycle', undefined);
  return { status: 204 };
};
