/** DeleteBucketEncryption (`DELETE /?encryption`): uploads are no longer encrypted by default; 204. */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteBucketEncryption: Operation = async (ctx, deps) => {
  await deps.store.putBucketSetting(requireBucket(ctx), 'encryption', undefined);
  return { status: 204 };
};
