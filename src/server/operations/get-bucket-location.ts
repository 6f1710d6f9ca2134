/** GetBucketLocation (`GET /?location`): `<LocationConstraint>` with the server's region. */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { locationConstraintResult } from '../responses/bucket-info.ts';

export const getBucketLocation: Operation = async (ctx, deps) => {
  await deps.store.getBucket(requireBucket(ctx));
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: locationConstraintResult(deps.region),
  };
};
