/** GetBucketEncryption (`GET /?encryption`): the bucket's default; NoSuchServerSideEncryptionRule without one. */
import { ossError } from '../../shared/oss-error.ts';
import { serverSideEncryptionRuleResult } from '../server-side-encryption.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const getBucketEncryption: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const encryption = await deps.store.getBucketSetting(bucket, 'encryption');
  if (encryption === undefined) {
    throw ossError('NoSuchServerSideEncryptionRule', { details: { BucketName: bucket } });
  }
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: serverSideEncryptionRuleResult(encryption),
  };
};
