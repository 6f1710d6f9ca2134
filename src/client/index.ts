/**
 * `upcall/client`: what an app server or CLI needs to talk to upcall (or OSS) as a client:
 * callback parameters, browser PostObject bundles, temporary credentials, and a small V1-signed
 * OSS client. Re-exports only; each concept lives in its own module.
 */
export {
  buildCallbackParams,
  callbackHeaders,
  parseVarPairs,
  type CallbackParams,
  type CallbackParamsInput,
} from './callback-params.ts';
export {
  buildPostPolicyBundle,
  postObjectFormFields,
  type PostPolicyBundle,
  type PostPolicyBundleInput,
  type PostPolicyBundleV1,
  type PostPolicyBundleV4,
  type PostPolicyCredentials,
} from './post-policy.ts';
export {
  mintTemporaryCredentials,
  temporaryCredentialsError,
  temporaryCredentialsReply,
  TEMPORARY_ACTIONS,
  type MintInput,
  type TemporaryAction,
  type TemporaryCredentials,
  type TemporaryCredentialsReply,
  type TemporaryPolicy,
} from './temporary-credentials.ts';
export { callbackParameterFingerprint } from '../callback/callback-fingerprint.ts';
export {
  encodePostPolicy,
  type PostPolicyCondition,
  type PostPolicyDocument,
} from '../shared/post-policy.ts';
export {
  presignV1,
  presignV4,
  encodeQuery,
  type PresignV1Input,
  type PresignV4Input,
} from '../shared/presigned-url.ts';
export { OssClient, type OssClientOptions } from './oss-client.ts';
export type {
  CallbackLogPage,
  ListCallbacksOptions,
  LoggedCallback,
  LoggedCallbackAttempt,
  LoggedCallbackDelivery,
  RedeliveryResult,
} from './callback-log-types.ts';
export { OssServiceError } from './oss-service-error.ts';
export { abortMultipartUploadsUnder, deleteObjectsUnder } from './prefix-operations.ts';
export { UploadInterruptedError } from './multipart-uploader.ts';
