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
 *
 * Typed against the few members of Fastify it touches (below), not Fastify's own types, so the
 * package installs and type-checks without Fastify; any Fastify 4 or 5 instance fits them.
 */
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

/** The members of a Fastify request this plugin reads. */
export interface FastifyRequest {
  readonly method: string;
  readonly url: string;
  readonly raw: { readonly url?: string | undefined };
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  readonly log: { error(details: object, message: string): void };
}

/** The members of a Fastify reply this plugin calls. */
export interface FastifyReply {
  code(status: number): FastifyReply;
  header(name: string, value: string): FastifyReply;
  headers(values: Record<string, string>): FastifyReply;
  send(payload: string): FastifyReply;
}

/**
 * The members of a Fastify instance (the plugin's encapsulated scope) this plugin calls. `Req` is
 * the application's request type, so `onVerified` and `onRejected` see Fastify's own request.
 */
export interface FastifyInstance<Req extends FastifyRequest = FastifyRequest> {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (request: Req, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => void,
  ): void;
  setErrorHandler(
    handler: (
      error: { code?: string; statusCode?: number },
      request: Req,
      reply: FastifyReply,
    ) => Promise<FastifyReply>,
  ): void;
  all(path: string, handler: (request: Req, reply: FastifyReply) => Promise<FastifyReply>): void;
}

export interface FastifyCallbackOptions<
  Req extends FastifyRequest = FastifyRequest,
> extends VerifyOssCallbackOptions {
  /** Route path inside the plugin's prefix. Default `/`. */
  path?: string;
  onVerified?: (callback: VerifiedCallback, request: Req) => JsonValue | Promise<JsonValue>;
  onRejected?: (error: CallbackVerificationError, request: Req) => void;
}

export async function ossCallbackPlugin<Req extends FastifyRequest = FastifyRequest>(
  fastify: FastifyInstance<Req>,
  options: FastifyCallbackOptions<Req>,
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
