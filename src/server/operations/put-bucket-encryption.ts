/**
 * PutBucketEncryption (`PUT /?encryption` with a `ServerSideEncryptionRule`): the encryption of
 * uploads that name none (server-side-encryption.ts). Only AES256: there is no KMS.
 */
import { MAX_ENCRYPTION_BODY_BYTES, parseServerSideEncryptionRule } from '../server-side-encryption.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const putBucketEncryption: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const encryption = parseServerSideEncryptionRule(await readXmlBody(ctx.body, MAX_ENCRYPTION_BODY_BYTES));
  await deps.store.putBucketSetting(bucket, 'encryption', encryption);
  return { status: 200 };
};
