/**
 * Public API of `upcall/receiver`: the callback verifier, the key resolver, framework adapters
 * and the ready-made receiver app (DESIGN.md "Interfaces other people script against").
 */
export {
  verifyOssCallback,
  headerReader,
  DEFAULT_MAX_CALLBACK_BODY_BYTES,
  type CallbackRequest,
  type CallbackHeaders,
  type OssCallbackHeaders,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from './verify-oss-callback.ts';
export {
  CallbackVerificationError,
  isCallbackVerificationError,
  type CallbackVerificationReason,
} from './callback-verification-error.ts';
export {
  createPublicKeyResolver,
  toRsaPublicKey,
  type PublicKeyResolver,
  type PublicKeyResolverOptions,
} from './public-key-resolver.ts';
export {
  createKeyUrlAllowlist,
  DEFAULT_KEY_URL_ALLOWLIST,
  type KeyUrlAllowlist,
} from './key-url-allowlist.ts';
export {
  parseCallbackBody,
  type CallbackBodyFacts,
  type CallbackBodyFormat,
  type CallbackFieldValue,
  type ImageInfo,
} from './callback-body.ts';
export {
  DEFAULT_CALLBACK_REPLY,
  jsonReply,
  rejectionReply,
  statusForReason,
  type CallbackReply,
  type JsonValue,
} from './callback-reply.ts';
export {
  createNodeHandler,
  verifyNodeRequest,
  writeCallbackReply,
  type NodeHandlerOptions,
} from './adapters/node-http.ts';
export {
  ossCallbackMiddleware,
  createExpressHandler,
  type ExpressMiddlewareOptions,
  type ExpressCallbackRequest,
} from './adapters/express.ts';
export { ossCallbackPlugin, type FastifyCallbackOptions } from './adapters/fastify.ts';
export {
  handleOssCallback,
  createWebHandler,
  verifyWebRequest,
  type WebHandlerOptions,
  type WebVerifyOptions,
} from './adapters/web.ts';
export {
  createReceiver,
  defaultReceiverReply,
  type Receiver,
  type ReceiverOptions,
  type ReceiverStore,
} from './app/create-receiver.ts';
export type {
  UploadHooks,
  SyncUploadHook,
  AsyncUploadHook,
  RetryPolicy,
  SyncHookContext,
  AsyncHookContext,
} from './app/upload-hooks.ts';
export type { NewUploadRecord, UploadRecord, UploadQuery, UploadPage } from './app/upload-record.ts';
export type { UploadRepository, HookJobQueue, HookJob, HookJobState } from './app/upload-repository.ts';
export { openSqliteReceiverStore, type SqliteReceiverStore } from './app/sqlite-receiver-store.ts';
export type { UploadJson } from './app/uploads-api.ts';
export {
  registerCredentialEndpoints,
  sanitiseUserId,
  defaultPostHost,
  DEFAULT_POLICY_CALLBACK_BODY,
  DEFAULT_POST_POLICY_MAX_SIZE,
  type ReceiverCredentials,
} from './app/credential-endpoints.ts';
export {
  createIssuedTemplateMatcher,
  type IssuedCallbackTemplate,
  type IssuedTemplateMatcher,
} from './issued-callback-template.ts';
