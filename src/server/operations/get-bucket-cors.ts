/** GetBucketCors (`GET /?cors`): the bucket's `CORSConfiguration`; NoSuchCORSConfiguration without one. */
import { ossError } from '../../shared/oss-error.ts';
import { corsConfigurationResult } from '../bucket-cors.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const getBucketCors: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const cors = await deps.store.getBucketSetting(bucket, 'cors');
  if (cors === undefined) throw ossError('NoSuchCORSConfiguration', { details: { BucketName: bucket } });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: corsConfigurationResult(cors),
  };
};
