/** GetObjectTagging (`GET /key?tagging`): the object's tags as a `Tagging` document. */
import { requireObject } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { taggingResult } from '../responses/tagging-result.ts';

export const getObjectTagging: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const object = await deps.store.headObject(bucket, key);
  return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: taggingResult(object.tags) };
};
