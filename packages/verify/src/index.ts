/**
 * upcall-verify: verify Alibaba Cloud OSS (and upcall) upload callbacks in an app server, with no
 * runtime dependencies. The verifier works on the raw request (SPEC.md §1: the signature covers the
 * exact path, query and body bytes); the key resolver fetches a key only from an allowlisted URL
 * and caches it; the adapters fit node:http, Express, Fastify and web-standard `Request`.
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
  decodeKeyUrlHeader,
  toRsaPublicKey,
  type KeyFetch,
  type KeyFetchResponse,
  type PublicKeyResolver,
  type PublicKeyResolverOptions,
} from './public-key-resolver.ts';
export {
  createKeyUrlAllowlist,
  CALLBACK_KEY_PATH,
  DEFAULT_KEY_URL_ALLOWLIST,
  type KeyUrlAllowlist,
} from './key-url-allowlist.ts';
export {
  parseCallbackBody,
  type CallbackBodyFacts,
  type CallbackBodyFormat,
  type CallbackFieldObject,
  type CallbackFieldValue,
  type ImageInfo,
} from './callback-body.ts';
export {
  DEFAULT_CALLBACK_REPLY,
  internalErrorReply,
  jsonReply,
  rejectionReply,
  statusForReason,
  type CallbackReply,
  type JsonValue,
} from './callback-reply.ts';
export {
  callbackStringToSign,
  signCallback,
  signCallbackAsync,
  verifyCallbackSignature,
  verifyCallbackSignatureAsync,
} from './callback-signature.ts';
export { readRawBody } from './read-raw-body.ts';
export {
  createNodeHandler,
  verifyNodeRequest,
  writeCallbackReply,
  type NodeCallbackRequest,
  type NodeHandlerOptions,
} from './adapters/node-http.ts';
export {
  ossCallbackMiddleware,
  createExpressHandler,
  type ExpressMiddlewareOptions,
  type ExpressCallbackRequest,
  type ExpressCallbackResponse,
  type ExpressNext,
} from './adapters/express.ts';
export {
  ossCallbackPlugin,
  type FastifyCallbackOptions,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from './adapters/fastify.ts';
export {
  handleOssCallback,
  createWebHandler,
  verifyWebRequest,
  toResponse,
  type WebHandlerOptions,
  type WebVerifyOptions,
} from './adapters/web.ts';
