/**
 * InitiateMultipartUpload (`POST /key?uploads`): starts an upload and returns its UploadId. The
 * object metadata (Content-Type, Content-Disposition, …, `x-oss-meta-*`) is taken here, from this
 * request, and applied when the upload completes, as in OSS; so are `x-oss-object-acl`,
 * `x-oss-tagging` and `x-oss-server-side-encryption` (the parts are stored encrypted).
 *
 * `x-oss-forbid-overwrite: true` refuses an existing object here already (409 FileAlreadyExists),
 * so a client learns before it uploads any part; CompleteMultipartUpload checks again as it commits
 * only when its own request carries the header, as in OSS.
 *
 * `x-oss-callback` / `x-oss-callback-var` are ignored here on purpose: ali-oss copies a user's
 * callback headers onto Initiate and every UploadPart (SPEC.md §7.4); only Complete calls back.
 */
import { isOssError, ossError } from '../../shared/oss-error.ts';
import { forbidsOverwrite } from '../forbid-overwrite.ts';
import type { Operation, ServerDeps } from '../pipeline/request-context.ts';
import { requireObject } from '../request-arguments.ts';
import { objectMetaFromHeaders } from '../object-meta.ts';
import { objectSettingsFromHeaders } from '../object-settings.ts';
import { SSE_HEADER, withBucketEncryption } from '../server-side-encryption.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { initiateMultipartUploadResult } from '../responses/initiate-multipart-upload-result.ts';

export const initiateMultipartUpload: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const meta = objectMetaFromHeaders(ctx.headers, key);
  const settings = await withBucketEncryption(deps.store, bucket, objectSettingsFromHeaders(ctx.headers));
  if (forbidsOverwrite(ctx)) await refuseExisting(deps, bucket, key);
  const upload = await deps.store.multipart.initiate(bucket, key, meta, settings);
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/xml',
      ...(settings.serverSideEncryption === undefined ? {} : { [SSE_HEADER]: settings.serverSideEncryption }),
    },
    body: initiateMultipartUploadResult(upload, encodingType),
  };
};

/**
 * FIDELITY: OSS lists x-oss-forbid-overwrite for InitiateMultipartUpload but does not document
 * whether an existing object is refused at initiate (SPEC is silent); upcall refuses it there.
 * @throws FileAlreadyExists | NoSuchBucket
 */
async function refuseExisting(deps: ServerDeps, bucket: string, key: string): Promise<void> {
  try {
    await deps.store.headObject(bucket, key);
  } catch (error) {
    if (isOssError(error) && error.code === 'NoSuchKey') return;
    throw error;
  }
  throw ossError('FileAlreadyExists', { details: { Key: key } });
}
