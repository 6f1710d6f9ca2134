/**
 * Public API of `upcall/receiver`: the callback verifier, the key resolver and the framework
 * adapters (all of `upcall-verify`, which app servers can install on its own, re-exported so
 * existing imports keep working) and the ready-made receiver app (DESIGN.md "Interfaces other
 * people script against").
 */
export * from 'upcall-verify';
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
