/** GetBucketLifecycle (`GET /?lifecycle`): the bucket's `LifecycleConfiguration`; NoSuchLifecycle without one. */
import { ossError } from '../../shared/oss-error.ts';
import { lifecycleConfigurationResult } from '../lifecycle/lifecycle-configuration.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const getBucketLifecycle: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const lifecycle = await deps.store.getBucketSetting(bucket, 'lifecycle');
  if (lifecycle === undefined) throw ossError('NoSuchLifecycle', { details: { BucketName: bucket } });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: lifecycleConfigurationResult(lifecycle),
  };
};
