/**
 * DeleteObject (`DELETE /key`): 204 whether or not the key existed (OSS is idempotent here);
 * only a missing bucket is an error (NoSuchBucket).
 */
import { requireObject } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  await deps.store.deleteObject(bucket, key);
  return { status: 204 };
};
