/**
 * PutObject (`PUT /key`): streams the request body into the store as the whole object.
 *
 * Flow: validate everything the headers decide (size, metadata, Content-MD5 / CRC64 syntax, the
 * upload callback, SPEC.md §12.2) → store the body, checking the digests in `beforeCommit` so a
 * body that does not match is never visible, and `x-oss-forbid-overwrite` as the store commits
 * (and signing the callback from `onReceived`, while the store commits) → (upload callback, §6)
 * → the success response.
 */
import { forbidsOverwrite } from '../forbid-overwrite.ts';
import { integrityCheck } from '../integrity.ts';
import { requireObject } from '../request-arguments.ts';
import { objectMetaFromHeaders, uploadResultHeaders } from '../object-meta.ts';
import { objectSettingsFromHeaders } from '../object-settings.ts';
import { withBucketEncryption } from '../server-side-encryption.ts';
import { ossError } from '../../shared/oss-error.ts';
import {
  header,
  type OssResponse,
  type Operation,
  type RequestContext,
} from '../pipeline/request-context.ts';
import { uploadCallbackFromRequest } from '../callback/upload-callback.ts';

/** OSS: a single PutObject or AppendObject carries at most 5 GiB. */
export const MAX_PUT_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;

/**
 * A `Content-Length` over the limit is refused before a byte is read (the store's `maxSize` stops
 * chunked bodies as they stream). @throws EntityTooLarge
 */
export function refuseDeclaredOversize(ctx: RequestContext, maxBytes: number): void {
  const declared = Number(header(ctx, 'content-length') ?? '0');
  if (declared > maxBytes) {
    throw ossError('EntityTooLarge', {
      details: { MaxSizeAllowed: String(maxBytes), ProposedSize: String(declared) },
    });
  }
}

/**
 * The body's length as the request declares it: Content-Length when the body is not chunked, so
 * the store can stream it on with that length (the gateway sends it as one blob).
 */
export function declaredBodySize(ctx: RequestContext): { size?: number } {
  if (header(ctx, 'transfer-encoding') !== undefined) return {};
  const declared = Number(header(ctx, 'content-length') ?? 'NaN');
  return Number.isSafeInteger(declared) && declared >= 0 ? { size: declared } : {};
}

export const putObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  refuseDeclaredOversize(ctx, MAX_PUT_OBJECT_BYTES);
  const meta = objectMetaFromHeaders(ctx.headers, key);
  const settings = await withBucketEncryption(deps.store, bucket, objectSettingsFromHeaders(ctx.headers));
  const digests = integrityCheck(ctx.headers);
  const forbidOverwrite = forbidsOverwrite(ctx);
  const callback = await uploadCallbackFromRequest(ctx, deps, 'PutObject', { bucket, key, meta });
  const object = await deps.store.putObject(bucket, key, ctx.body, {
    meta,
    settings,
    maxSize: MAX_PUT_OBJECT_BYTES,
    ...declaredBodySize(ctx),
    // Checked by the store at its commit (and before it reads the body, to refuse early).
    forbidOverwrite,
    ...(digests === undefined ? {} : { beforeCommit: digests }),
    ...(callback?.onReceived === undefined ? {} : { onReceived: callback.onReceived }),
  });

  const response: OssResponse = { status: 200, headers: uploadResultHeaders(object) };
  return callback === undefined ? response : callback.answer(object, response);
};
