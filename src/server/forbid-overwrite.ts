/**
 * `x-oss-forbid-overwrite: true` (PutObject, CopyObject, CompleteMultipartUpload in OSS): refuse
 * to replace an existing object with 409 FileAlreadyExists. The store checks it as a precondition
 * of its commit (ObjectStore OverwriteOptions), so of racing uploads to a new key exactly one wins;
 * this module only reads the header.
 */
import { header, type RequestContext } from './pipeline/request-context.ts';

export function forbidsOverwrite(ctx: Pick<RequestContext, 'headers'>): boolean {
  return header(ctx, 'x-oss-forbid-overwrite')?.trim().toLowerCase() === 'true';
}
