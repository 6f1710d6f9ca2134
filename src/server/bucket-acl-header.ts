/**
 * The `x-oss-acl` request header of PutBucket and PutBucketAcl: `private`, `public-read` or
 * `public-read-write`. Invariant: nothing else reaches the store (InvalidArgument, as OSS).
 */
import { ossError } from '../shared/oss-error.ts';
import type { BucketAcl } from '../store/object-store.ts';
import { header, type RequestContext } from './pipeline/request-context.ts';

const BUCKET_ACLS: ReadonlySet<string> = new Set<BucketAcl>(['private', 'public-read', 'public-read-write']);

function isBucketAcl(value: string): value is BucketAcl {
  return BUCKET_ACLS.has(value);
}

/** The ACL asked for, or undefined when the header is absent. @throws InvalidArgument */
export function bucketAclHeader(ctx: Pick<RequestContext, 'headers'>): BucketAcl | undefined {
  const value = header(ctx, 'x-oss-acl');
  if (value === undefined) return undefined;
  const acl = value.trim();
  if (!isBucketAcl(acl)) {
    throw ossError('InvalidArgument', {
      message: 'no such bucket access control exists',
      details: { ArgumentName: 'x-oss-acl', ArgumentValue: value },
    });
  }
  return acl;
}
