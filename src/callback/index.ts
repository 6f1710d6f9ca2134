/**
 * The pure callback engine (DESIGN.md): parse and validate the callback parameters, render the
 * body, build the outgoing requests, sign and verify. No I/O, no clock, no randomness: the server
 * (src/server/callback/callback-dispatcher.ts) and the receiver (src/receiver/) supply those.
 */
export {
  parseCallback,
  parseFormCallback,
  MAX_CALLBACK_LENGTH,
  MAX_CALLBACK_URLS,
  MAX_CALLBACK_VAR_LENGTH,
  type CallbackBodyType,
  type CallbackRequestParams,
  type ParseCallbackOptions,
  type CallbackSpec,
} from './parse-callback.ts';
export { callbackFingerprint, callbackParameterFingerprint } from './callback-fingerprint.ts';
export {
  renderCallbackBody,
  createCallbackBodyRenderer,
  formEncode,
  templateUsesImageInfo,
  SYSTEM_VARIABLE_NAMES,
  type CallbackOperation,
  type ImageInfo,
  type RenderInput,
  type UploadFacts,
} from './render-callback-body.ts';
export {
  buildCallbackRequests,
  createCallbackRequestBuilder,
  callbackRequestsWithBody,
  type CallbackRequest,
  type CallbackTarget,
  type CallbackRequestContext,
} from './build-callback-request.ts';
export {
  callbackStringToSign,
  signCallback,
  signCallbackAsync,
  verifyCallbackSignature,
  verifyCallbackSignatureAsync,
} from './callback-signature.ts';
