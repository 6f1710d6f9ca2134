/** GetBucketAcl (`GET /?acl`): the AccessControlPolicy document (Owner, Grant). */
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { accessControlPolicyResult } from '../responses/bucket-info.ts';

export const getBucketAcl: Operation = async (ctx, deps) => {
  const bucket = await deps.store.getBucket(requireBucket(ctx));
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: accessControlPolicyResult({ bucket, owner: deps.owner }),
  };
};
