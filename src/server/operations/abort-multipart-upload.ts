/**
 * AbortMultipartUpload (`DELETE /key?uploadId=…`): forgets the upload and deletes its parts.
 * Aborting an unknown, completed or already aborted upload is NoSuchUpload, as in OSS.
 */
import type { Operation } from '../pipeline/request-context.ts';
import { uploadRefOf } from '../request-arguments.ts';

export const abortMultipartUpload: Operation = async (ctx, deps) => {
  await deps.store.multipart.abort(uploadRefOf(ctx));
  return { status: 204 };
};
