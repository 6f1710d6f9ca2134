/**
 * PostObject (`POST /` with multipart/form-data, the browser form upload): the form's fields say
 * where the file goes (`key`, with `${filename}`), who sends it (policy + signature, V1 or V4, or
 * nobody for a public-read-write bucket), what metadata it gets (Content-Type, Cache-Control, …,
 * `x-oss-meta-*`) and how to answer (`success_action_status` / `success_action_redirect`).
 *
 * Invariants:
 * - The file streams straight into the store; its size limit (policy content-length-range, 5 GiB
 *   otherwise) is enforced while it streams, so an oversized file fails as soon as it is too big.
 * - Nothing is stored unless the whole form was well-formed (file last and alone, body complete)
 *   and every check passed: the checks run as the store's `beforeCommit`.
 * - `x-oss-forbid-overwrite: true` (a form field here) refuses an existing key with 409
 *   FileAlreadyExists, checked by the store as it commits, as for PutObject.
 * - The `callback` field and the `x:` variables are read by the upload-callback step (SPEC.md
 *   §7.2, parse-callback.ts); they are never part of the stored metadata.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { validateObjectKey } from '../../shared/object-key.ts';
import { ossError } from '../../shared/oss-error.ts';
import { checkTemporaryPolicy } from '../../shared/security-token.ts';
import { callbackFingerprint } from '../../callback/callback-fingerprint.ts';
import type { StoredObject } from '../../store/object-store.ts';
import { formForbidsOverwrite } from '../forbid-overwrite.ts';
import { verifyDigests, expectedDigests } from '../integrity.ts';
import { objectLocation, requireBucket } from '../request-arguments.ts';
import { objectMetaFromHeaders, uploadResultHeaders } from '../object-meta.ts';
import { objectSettingsFromHeaders } from '../object-settings.ts';
import { withBucketEncryption } from '../server-side-encryption.ts';
import { authorizePostForm } from '../post-object/post-object-auth.ts';
import {
  DEFAULT_POST_OBJECT_FORM_LIMITS,
  parsePostObjectForm,
  substituteFilename,
} from '../post-object/post-object-form.ts';
import type { OssResponse, Operation, RequestContext } from '../pipeline/request-context.ts';
import { postResponse } from '../responses/post-response.ts';
import { uploadCallbackFromForm, type UploadCallback } from '../callback/upload-callback.ts';

/** OSS: a PostObject file is at most 5 GiB. */
export const MAX_POST_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;

/** Form fields that become object metadata, as the same-named request headers do for PutObject. */
const META_FIELDS = ['content-type', 'content-disposition', 'content-encoding', 'cache-control', 'expires'];

/** What a stored PostObject hands to the upload-callback step and the response. */
export interface PostObjectUpload {
  object: StoredObject;
  successActionStatus: 200 | 201 | 204;
  successActionRedirect?: string;
  /** The validated callback, when the form asks for one and the server runs callbacks. */
  callback?: UploadCallback;
}

export const postObject: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const upload = await parsePostObjectForm(
    ctx.body,
    ctx.headers,
    DEFAULT_POST_OBJECT_FORM_LIMITS,
    async (form): Promise<PostObjectUpload> => {
      const { fields } = form;
      const rawKey = fields.get('key');
      if (rawKey === undefined || rawKey === '') {
        throw ossError('InvalidArgument', {
          message: 'The key field is required in a PostObject form.',
          details: { ArgumentName: 'key', ArgumentValue: '' },
        });
      }
      const key = substituteFilename(rawKey, form.file.filename);
      validateObjectKey(key);

      const access = await authorizePostForm({ fields, bucket, key, now: deps.now() }, deps);
      const headers = fieldsAsHeaders(fields);
      const meta = objectMetaFromHeaders(headers, key);
      const settings = await withBucketEncryption(deps.store, bucket, objectSettingsFromHeaders(headers));
      const expected = expectedDigests(headers);
      const forbidOverwrite = formForbidsOverwrite(fields);
      const minSize = access.contentLength?.min ?? 0;
      const maxSize = Math.min(access.contentLength?.max ?? MAX_POST_OBJECT_SIZE, MAX_POST_OBJECT_SIZE);
      // §12.2: a bad callback field is refused before the file is stored.
      const callback = await uploadCallbackFromForm(ctx, fields, deps, { bucket, key, meta });
      if (access.tokenPolicy !== undefined) {
        // A temporary credential's own limits: action, bucket, key prefix, required callback.
        checkTemporaryPolicy(access.tokenPolicy, {
          action: 'PostObject',
          bucket,
          key,
          callbackUrls: callback?.spec.urls.map(String),
          callbackFingerprint: callback === undefined ? undefined : callbackFingerprint(callback.spec),
        });
      }

      const object = await deps.store.putObject(bucket, key, form.file.stream, {
        meta,
        settings,
        maxSize,
        forbidOverwrite,
        ...(callback?.onReceived === undefined ? {} : { onReceived: callback.onReceived }),
        beforeCommit: async (pending) => {
          // Commit only a form that was well-formed to its end (file last and alone).
          await form.formComplete();
          if (pending.size < minSize) {
            throw ossError('EntityTooSmall', {
              details: { MinSizeAllowed: String(minSize), ProposedSize: String(pending.size) },
            });
          }
          verifyDigests(expected, pending);
        },
      });

      const redirect = fields.get('success_action_redirect');
      return {
        object,
        successActionStatus: successActionStatus(fields.get('success_action_status')),
        ...(redirect !== undefined && redirect !== '' && { successActionRedirect: redirect }),
        ...(callback !== undefined && { callback }),
      };
    },
  );

  // The object is stored. The upload callback (SPEC.md §7.2) runs here, between storing and
  // answering; on success it answers 200 with the callback server's body instead of the response
  // below.
  const response = postObjectResponse(ctx, upload);
  return upload.callback === undefined ? response : upload.callback.answer(upload.object, response);
};

function postObjectResponse(ctx: RequestContext, upload: PostObjectUpload): OssResponse {
  const { object } = upload;
  const headers = uploadResultHeaders(object);
  if (upload.successActionRedirect !== undefined) {
    const location = redirectLocation(upload.successActionRedirect, object);
    if (location !== undefined) return { status: 303, headers: { ...headers, Location: location } };
  }
  switch (upload.successActionStatus) {
    case 200:
      return { status: 200, headers };
    case 201:
      return {
        status: 201,
        headers: { ...headers, 'Content-Type': 'application/xml' },
        body: postResponse(object, objectLocation(ctx, object.bucket, object.key)),
      };
    case 204:
      return { status: 204, headers };
  }
}

/** OSS: `success_action_status` 200 or 201 are honoured; anything else answers 204. */
function successActionStatus(value: string | undefined): 200 | 201 | 204 {
  if (value === '200') return 200;
  if (value === '201') return 201;
  return 204;
}

/**
 * `success_action_redirect` plus `bucket`, `key` and `etag` query parameters (OSS PostObject). A
 * value that is not an absolute http(s) URL is not followed.
 */
function redirectLocation(target: string, object: StoredObject): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  // FIDELITY: OSS documents no answer for an unusable redirect; upcall ignores it.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.searchParams.append('bucket', object.bucket);
  url.searchParams.append('key', object.key);
  url.searchParams.append('etag', `"${object.etag}"`);
  return url.toString();
}

function fieldsAsHeaders(fields: ReadonlyMap<string, string>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (META_FIELDS.includes(name) || name.startsWith('x-oss-meta-')) headers[name] = value;
    if (name === 'content-md5' || name === 'x-oss-hash-crc64ecma') headers[name] = value;
    if (name === 'x-oss-object-acl' || name === 'x-oss-tagging') headers[name] = value;
    // A form asks for encryption as PutObject's headers do; its KMS fields are refused the same way.
    if (name.startsWith('x-oss-server-side-')) headers[name] = value;
  }
  return headers;
}
