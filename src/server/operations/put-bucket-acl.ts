/**
 * PutBucketAcl (`PUT /?acl`): sets the bucket ACL from `x-oss-acl`; 200 with `Location`.
 * A missing header is InvalidArgument (there is nothing to set). On a bucket that does not exist
 * it creates the bucket with that ACL, as the OSS PutBucketAcl reference says it does.
 */
import { isOssError, ossError } from '../../shared/oss-error.ts';
import { bucketAclHeader } from '../bucket-acl-header.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

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
  try {
    await deps.store.setBucketAcl(bucket, acl);
  } catch (error) {
    if (!isOssError(error) || error.code !== 'NoSuchBucket') throw error;
    try {
      await deps.store.createBucket(bucket, acl);
    } catch (raced) {
      // Created by someone else in between: it exists now, so set its ACL as asked.
      if (!isOssError(raced) || raced.code !== 'BucketAlreadyExists') throw raced;
      await deps.store.setBucketAcl(bucket, acl);
    }
  }
  return { status: 200, headers: { Location: `/${bucket}` } };
};
