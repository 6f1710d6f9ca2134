/**
 * PutObjectAcl (`PUT /key?acl` with `x-oss-object-acl`): sets the object's own ACL (`default`
 * returns it to the bucket's). The object's data, metadata and Last-Modified do not change.
 * A missing or empty header is InvalidArgument (OSS EC 0017-00000105).
 */
import { ossError } from '../../shared/oss-error.ts';
import { requireObject } from '../request-arguments.ts';
import { objectAclHeader } from '../object-settings.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const putObjectAcl: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const acl = objectAclHeader(ctx.headers);
  if (acl === undefined) {
    throw ossError('InvalidArgument', {
      message: 'no such object access control exists',
      details: { ArgumentName: 'x-oss-object-acl', ArgumentValue: '' },
    });
  }
  await deps.store.setObjectAcl(bucket, key, acl);
  return { status: 200 };
};
