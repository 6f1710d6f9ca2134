/**
 * PutBucketAcl (`PUT /?acl`): sets the bucket ACL from `x-oss-acl`; 200 with `Location`.
 * A missing header is InvalidArgument (there is nothing to set).
 */
import { ossError } from '../../shared/oss-error.ts';
import { bucketAclHeader } from '../bucket-acl-header.ts';
import { requireBucket } from '../multipart-request.ts';
import type { Operation } from '../request-context.ts';

export const putBucketAcl: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const acl = bucketAclHeader(ctx);
  if (acl === undefined) {
    // FIDELITY: OSS's wording for a PutBucketAcl without x-oss-acl is not documented.
    throw ossError('InvalidArgument', {
      message: 'The x-oss-acl header is required.',
      details: { ArgumentName: 'x-oss-acl', ArgumentValue: '' },
    });
  }
  await deps.store.setBucketAcl(bucket, acl);
  return { status: 200, headers: { Location: `/${bucket}` } };
};
