/**
 * PutBucket (`PUT /` on a bucket): creates the bucket with the `x-oss-acl` ACL (private by
 * default) and answers 200 with `Location: /<bucket>` (ali-oss reads the bucket name from it).
 * An optional CreateBucketConfiguration body (StorageClass, DataRedundancyType) must be
 * well-formed XML; upcall stores every bucket as Standard/LRS.
 */
import { isOssError } from '../../shared/oss-error.ts';
import { parseXml } from '../../shared/xml.ts';
import { bucketAclHeader } from '../bucket-acl-header.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const putBucket: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const acl = bucketAclHeader(ctx);
  const body = await readXmlBody(ctx.body);
  if (body.trim() !== '') parseXml(body);
  try {
    await deps.store.createBucket(bucket, acl ?? 'private');
  } catch (error) {
    if (!isOssError(error) || error.code !== 'BucketAlreadyExists') throw error;
    // FIDELITY: upcall is single-tenant, so an existing bucket is always the caller's own; OSS
    // answers 200 to its owner re-creating it. An explicit x-oss-acl is applied, else it is kept.
    if (acl !== undefined) await deps.store.setBucketAcl(bucket, acl);
  }
  return { status: 200, headers: { Location: `/${bucket}` } };
};
