/**
 * Fastify adapter: a plugin that owns one callback route in its own encapsulated scope.
 *
 * Inside that scope every content type is parsed as a raw Buffer (capped by `maxBodyBytes`), so
 * the signature is checked over the exact bytes, while the rest of the app keeps Fastify's JSON
 * parser. Register it without fastify-plugin (encapsulation is the point):
 *
 *   await app.register(ossCallbackPlugin, { path: '/oss-callback', keyUrlAllowlist… });
 *
 * Replies follow the OSS demo server: 200 JSON after a verified POST, 400/413 on a failed check,
 * 501 for other methods; always JSON with Content-Length.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  DEFAULT_CALLBACK_REPLY,
  internalErrorReply,
  jsonReply,
  rejectionReply,
  type CallbackReply,
  type JsonValue,
} from '../callback-reply.ts';
import { CallbackVerificationError } from '../callback-verification-error.ts';
import {
  DEFAULT_MAX_CALLBACK_BODY_BYTES,
  verifyOssCallback,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from '../verify-oss-callback.ts';

export interface FastifyCallbackOptions extends VerifyOssCallbackOptions {
  /** Route path inside the plugin's prefix. Default `/`. */
  path?: string;
  onVerified?: (callback: VerifiedCallback, request: FastifyRequest) => JsonValue | Promise<JsonValue>;
  onRejected?: (error: CallbackVerificationError, request: FastifyRequest) => void;
}

export async function ossCallbackPlugin(
  fastify: FastifyInstance,
  options: FastifyCallbackOptions,
): Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BODY_BYTES;
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => {
    done(null, body);
  });
  fastify.setErrorHandler(async (error: { code?: string; statusCode?: number }, request, reply) => {
    // Fastify refuses an oversize body before the handler runs; answer in the callback format.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      const refused = new CallbackVerificationError(
        'body-too-large',
        `The callback body exceeds ${maxBodyBytes} bytes.`,
      );
      options.onRejected?.(refused, request);
      return send(reply.header('connection', 'close'), rejectionReply(refused));
    }
    request.log.error({ err: error }, 'OSS callback handler failed');
    return send(reply, internalErrorReply());
  });
  fastify.all(options.path ?? '/', async (request, reply) => {
    let verified: VerifiedCallback;
    try {
      const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
      verified = await verifyOssCallback(
        { method: request.method, target: request.raw.url ?? request.url, headers: request.headers, body },
        options,
      );
    } catch (err) {
      if (!(err instanceof CallbackVerificationError)) throw err;
      options.onRejected?.(err, request);
      return send(reply, rejectionReply(err));
    }
    const value = options.onVerified ? await options.onVerified(verified, request) : DEFAULT_CALLBACK_REPLY;
    return send(reply, jsonReply(200, value));
  });
}

function send(reply: FastifyReply, callbackReply: CallbackReply): FastifyReply {
  return reply.code(callbackReply.status).headers(callbackReply.headers).send(callbackReply.body);
}
