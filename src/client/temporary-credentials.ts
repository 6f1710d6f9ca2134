/**
 * Temporary credentials for mobile and browser clients (SPEC.md §10.1, DESIGN.md "Temporary
 * credentials"): mints them offline from a root key (shared/security-token.ts) and shapes the
 * reply the Android/iOS `OSSAuthCredentialsProvider` parses.
 *
 * Usage (an app-server route):
 *   res.json(temporaryCredentialsReply(mintTemporaryCredentials({ rootAccessKeyId, rootAccessKeySecret,
 *     policy: { bucket, prefix: `user-${id}/`, actions: ['PutObject'], callbackUrl, expiresInSeconds: 900,
 *       // Bind the whole callback (issue 14): the server then refuses any other URL or template.
 *       callbackFingerprint: callbackParameterFingerprint(callback.callback) },
 *     now: new Date() })));
 */
import type { TemporaryAction, TemporaryCredentials } from '../shared/security-token.ts';

export {
  mintTemporaryCredentials,
  TEMPORARY_ACTIONS,
  type MintInput,
  type TemporaryAction,
  type TemporaryCredentials,
  type TemporaryPolicy,
} from '../shared/security-token.ts';

/** What an uploading client needs: single and multipart uploads, and resuming a multipart one. */
export const UPLOAD_ACTIONS: readonly TemporaryAction[] = [
  'PutObject',
  'PostObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
];

export interface TemporaryCredentialsReply extends TemporaryCredentials {
  StatusCode: 200;
}

/** `{"StatusCode":200,"AccessKeyId":"STS.…","AccessKeySecret":"…","SecurityToken":"…","Expiration":"…"}` */
export function temporaryCredentialsReply(credentials: TemporaryCredentials): TemporaryCredentialsReply {
  return {
    StatusCode: 200,
    AccessKeyId: credentials.AccessKeyId,
    AccessKeySecret: credentials.AccessKeySecret,
    SecurityToken: credentials.SecurityToken,
    Expiration: credentials.Expiration,
  };
}

/** The §10.1 error shape, e.g. `temporaryCredentialsError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.')`. */
export function temporaryCredentialsError(
  errorCode: string,
  errorMessage: string,
): { StatusCode: 500; ErrorCode: string; ErrorMessage: string } {
  return { StatusCode: 500, ErrorCode: errorCode, ErrorMessage: errorMessage };
}
