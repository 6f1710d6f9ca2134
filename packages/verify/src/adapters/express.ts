/**
 * Express adapter. Typed structurally against node's request/response, so it needs no Express
 * types at run time and works with Express 4 and 5.
 *
 * Raw-body pitfall (docs/receiver.md): the signature covers the exact body bytes, so this must
 * see them. Mount it before `express.json()` / `express.urlencoded()`, or on a route that uses
 * `express.raw({ type: '*\/*' })`; if a parser already consumed the body, the callback is refused
 * with reason `body-unavailable` instead of being checked against re-serialised data.
 *
 *   app.post('/oss-callback', ossCallbackMiddleware(), (req, res) => {
 *     res.json({ Status: 'OK', object: req.ossCallback.object });   // Express sets Content-Length
 *   });
 */
import type { ServerResponse } from 'node:http';
import { rejectionReply, internalErrorReply } from '../callback-reply.ts';
import { CallbackVerificationError } from '../callback-verification-error.ts';
import type { VerifiedCallback, VerifyOssCallbackOptions } from '../verify-oss-callback.ts';
import {
  createNodeHandler,
  verifyNodeRequest,
  writeCallbackReply,
  type NodeCallbackRequest,
  type NodeHandlerOptions,
} from './node-http.ts';

export type ExpressCallbackRequest = NodeCallbackRequest & { ossCallback?: VerifiedCallback };
export type ExpressCallbackResponse = ServerResponse & { locals?: Record<string, unknown> };
export type ExpressNext = (err?: unknown) => void;

/**
 * Verifies, then sets `req.ossCallback` (and `res.locals.ossCallback`) and calls `next()`.
 * A refused callback is answered here (400/413/501 JSON) and `next` is not called.
 */
export interface ExpressMiddlewareOptions extends VerifyOssCallbackOptions {
  /** Observes refused callbacks (logging); the reply is still the standard 400/413/501. */
  onRejected?: (error: CallbackVerificationError, req: ExpressCallbackRequest) => void;
}

export function ossCallbackMiddleware(
  options: ExpressMiddlewareOptions = {},
): (req: ExpressCallbackRequest, res: ExpressCallbackResponse, next: ExpressNext) => Promise<void> {
  return async (req, res, next) => {
    try {
      const verified = await verifyNodeRequest(req, options);
      req.ossCallback = verified;
      if (res.locals) res.locals.ossCallback = verified;
    } catch (err) {
      if (err instanceof CallbackVerificationError) {
        options.onRejected?.(err, req);
        writeCallbackReply(res, rejectionReply(err), err.reason === 'body-too-large');
      } else {
        writeCallbackReply(res, internalErrorReply());
      }
      return;
    }
    next();
  };
}

/** A complete Express route handler with the demo-server replies (same as the node:http one). */
export function createExpressHandler(
  options: NodeHandlerOptions<ExpressCallbackRequest> = {},
): (req: ExpressCallbackRequest, res: ExpressCallbackResponse) => Promise<void> {
  return createNodeHandler<ExpressCallbackRequest>(options);
}
