/** GetObjectAcl (`GET /key?acl`): the object's own ACL, `default` when it follows the bucket's. */
import { requireObject } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { objectAclResult } from '../responses/object-acl-result.ts';

export const getObjectAcl: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const object = await deps.store.headObject(bucket, key);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: objectAclResult({ acl: object.acl, owner: deps.owner }),
  };
};
