/** DeleteObjectTagging (`DELETE /key?tagging`): removes every tag of the object; 204. */
import { requireObject } from '../multipart-request.ts';
import type { Operation } from '../request-context.ts';

export const deleteObjectTagging: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  await deps.store.setObjectTags(bucket, key, []);
  return { status: 204 };
};
