/**
 * PutObject (`PUT /key`): streams the request body into the store as the whole object.
 *
 * Flow: validate everything the headers decide (metadata, Content-MD5 / CRC64 syntax, the upload
 * callback, SPEC.md §12.2) → store the body, checking the digests in `beforeCommit` so a body
 * that does not match is never visible → (upload callback, §6) → the success response.
 */
import { integrityCheck } from '../integrity.ts';
import { requireObject } from '../multipart-request.ts';
import { objectMetaFromHeaders, uploadResultHeaders } from '../object-meta.ts';
import type { OssResponse, Operation } from '../request-context.ts';
import { answerWithCallback, callbackAnswerContext, uploadCallbackFromRequest } from '../upload-callback.ts';

/** OSS: a single PutObject or AppendObject carries at most 5 GiB. */
export const MAX_PUT_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;

export const putObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const meta = objectMetaFromHeaders(ctx.headers, key);
  const beforeCommit = integrityCheck(ctx.headers);
  const callback = await uploadCallbackFromRequest(ctx, deps, 'PutObject');

  const object = await deps.store.putObject(bucket, key, ctx.body, {
    meta,
    maxSize: MAX_PUT_OBJECT_BYTES,
    ...(beforeCommit === undefined ? {} : { beforeCommit }),
  });

  const response: OssResponse = { status: 200, headers: uploadResultHeaders(object) };
  return callback === undefined
    ? response
    : answerWithCallback(callback, object, callbackAnswerContext(ctx), deps, response);
};
