/**
 * PutBucket (`PUT /` on a bucket): creates the bucket with the `x-oss-acl` ACL (private by
 * default) and answers 200 with `Location: /<bucket>` (ali-oss reads the bucket name from it).
 * An optional CreateBucketConfiguration body must be well-formed XML; its StorageClass
 * (Standard unless given) becomes the class of objects uploaded without one.
 * DataRedundancyType is accepted and ignored (upcall keeps one copy: docs/compatibility.md).
 */
import { isOssError } from '../../shared/oss-error.ts';
import { childText, parseXml } from '../../shared/xml.ts';
import type { StorageClass } from '../../store/object-store.ts';
import { bucketAclHeader } from '../bucket-acl-header.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { parseStorageClass } from '../storage-class.ts';

export const putBucket: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const acl = bucketAclHeader(ctx);
  const storageClass = bucketStorageClass(await readXmlBody(ctx.body));
  try {
    await deps.store.createBucket(bucket, acl ?? 'private', storageClass);
  } catch (error) {
    if (!isOssError(error) || error.code !== 'BucketAlreadyExists') throw error;
    // FIDELITY: upcall is single-tenant, so an existing bucket is always the caller's own; OSS
    // answers 200 to its owner re-creating it. An explicit x-oss-acl is applied, else it is kept.
    if (acl !== undefined) await deps.store.setBucketAcl(bucket, acl);
  }
  return { status: 200, headers: { Location: `/${bucket}` } };
};

/** CreateBucketConfiguration's StorageClass. @throws MalformedXML | InvalidArgument */
function bucketStorageClass(body: string): StorageClass {
  if (body.trim() === '') return 'Standard';
  const configuration = parseXml(body)['CreateBucketConfiguration'];
  if (configuration === undefined || typeof configuration === 'string' || Array.isArray(configuration))
    return 'Standard';
  const value = childText(configuration, 'StorageClass');
  return value === undefined ? 'Standard' : parseStorageClass(value, 'StorageClass');
}
