/**
 * `x-oss-forbid-overwrite: true` (PutObject, CopyObject, InitiateMultipartUpload in OSS): refuse
 * to replace an existing object with 409 FileAlreadyExists. Checked before the body is read and
 * again, as a `beforeCommit`, once it has been received.
 */
import { isOssError, ossError } from '../shared/oss-error.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { header, type RequestContext } from './pipeline/request-context.ts';

export function forbidsOverwrite(ctx: Pick<RequestContext, 'headers'>): boolean {
  return header(ctx, 'x-oss-forbid-overwrite')?.trim().toLowerCase() === 'true';
}

/** @throws FileAlreadyExists when `key` exists */
export async function assertAbsent(store: ObjectStore, bucket: string, key: string): Promise<void> {
  try {
    await store.headObject(bucket, key);
  } catch (error) {
    if (isOssError(error) && error.code === 'NoSuchKey') return;
    throw error;
  }
  // FIDELITY: the last check runs just before the store commits, not inside its commit, so two
  // racing uploads with x-oss-forbid-overwrite may both succeed (the later one wins).
  throw ossError('FileAlreadyExists', { details: { Key: key } });
}
