/** DeleteObjectTagging (`DELETE /key?tagging`): removes every tag of the object; 204. */
import { requireObject } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const deleteObjectTagging: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  await deps.store.setObjectTags(bucket, key, []);
  return { status: 204 };
};
