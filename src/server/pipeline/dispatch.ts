/**
 * The request pipeline between the HTTP adapter and the operations: resolve the target (bucket,
 * key), pick the route, authenticate and authorize, run the operation, and turn any failure into
 * the OSS error response (send-error.ts). It never throws.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { isOssError, ossError } from '../../shared/oss-error.ts';
import { authorizeRoute } from './access-control.ts';
import { authenticate, type AuthenticateDeps } from './authenticate.ts';
import type { CallbackService } from '../callback/callback-service.ts';
import type { RequestTrace } from '../observability/request-trace.ts';
import type { UpcallEndpoints } from '../observability/upcall-endpoints.ts';
import type { CallbackLogRecorder } from '../callback-log/callback-log-recorder.ts';
import { callbacksAdmin, isCallbacksAdminPath } from '../callback-log/callbacks-admin.ts';
import { withBucketCors } from '../cors-response.ts';
import type { OssResponse, RequestContext, ServerDeps } from './request-context.ts';
import { resolveTarget, virtualHostBucket, type RequestTarget } from './resolve-target.ts';
import { matchRoute, type Target } from './routes.ts';
import { errorResponse } from './send-error.ts';

export interface IncomingRequest {
  requestId: string;
  method: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** The peer address (socket.remoteAddress), for `${clientIp}` of upload callbacks. */
  clientIp?: string | undefined;
  /** Filled in as the request is resolved, for its log line and metrics. */
  trace?: RequestTrace | undefined;
}

export interface DispatchConfig {
  deps: ServerDeps;
  auth: AuthenticateDeps;
  pathStyleHosts: ReadonlySet<string>;
  /** Serves the callback public key PEM (callback-service.ts); absent without callbacks. */
  callbackKey?: Pick<CallbackService, 'keyResponse'> | undefined;
  /** Health and metrics under `/_upcall/` (observability/upcall-endpoints.ts). */
  upcallEndpoints?: UpcallEndpoints | undefined;
  /** The callback log behind `/_upcall/callbacks` (callbacks-admin.ts); absent when it is off. */
  callbackLog?: CallbackLogRecorder | undefined;
}

export async function dispatch(request: IncomingRequest, config: DispatchConfig): Promise<OssResponse> {
  const response = await answer(request, config);
  // A preflight (Options) carries its own CORS headers; any other request gets its bucket's.
  if (request.headers.origin === undefined || request.method === 'OPTIONS') return response;
  return withBucketCors(request, response, config);
}

async function answer(request: IncomingRequest, config: DispatchConfig): Promise<OssResponse> {
  const host = request.headers.host ?? '';
  // The public key app servers verify callbacks with (SPEC.md §1.2); no bucket, no auth.
  const keyResponse = config.callbackKey?.keyResponse(
    { method: request.method, rawPath: request.rawPath, host },
    config.pathStyleHosts,
  );
  // upcall's own endpoints beside the OSS API: traced under their name, failures as OSS XML.
  const own = (action: string, response: Promise<OssResponse>): Promise<OssResponse> => {
    if (request.trace) request.trace.action = action;
    return response.catch((error: unknown) =>
      errorResponse(
        error,
        { requestId: request.requestId, method: request.method, host },
        config.deps.logger,
      ),
    );
  };
  if (keyResponse !== undefined) return own('UpcallCallbackPublicKey', keyResponse);
  const upcall = config.upcallEndpoints?.respond(
    { method: request.method, rawPath: request.rawPath, host },
    config.pathStyleHosts,
  );
  if (upcall !== undefined) return own(upcall.action, upcall.response);
  // The callback log's admin paths, on the service host only (callbacks-admin.ts).
  if (isCallbacksAdminPath(request.rawPath) && virtualHostBucket(host, config.pathStyleHosts) === undefined) {
    return own('UpcallCallbacks', callbacksAdmin(request, config.auth, config.callbackLog));
  }
  let target: RequestTarget = {};
  const trace = request.trace;
  try {
    target = resolveTarget(host, request.rawPath, config.pathStyleHosts);
    if (trace) {
      trace.bucket = target.bucket;
      trace.key = target.key;
    }
    const route = matchRoute({
      method: request.method,
      target: targetKind(target),
      query: request.query,
      hasHeader: (name) => request.headers[name] !== undefined,
    });
    if (trace) trace.action = route.action;
    // One object of one fixed shape serves the signature checks and then, with its principal, the
    // operation: spreads of varying shapes go through V8's slow generic copy, on every request.
    const unauthenticated = {
      method: request.method,
      rawPath: request.rawPath,
      query: request.query,
      headers: request.headers,
      bucket: target.bucket,
      key: target.key,
      requestId: request.requestId,
      body: request.body,
      clientIp: request.clientIp,
    };
    const principal = authenticate(unauthenticated, config.auth);
    const parsedCallback = await authorizeRoute(principal, route, unauthenticated, config.deps);
    const ctx: RequestContext = Object.assign(unauthenticated, { principal, parsedCallback });
    return await route.operation(ctx, config.deps);
  } catch (error) {
    return errorResponse(
      clientGone(request.body) && !isOssError(error) ? ossError('IncompleteBody', { cause: error }) : error,
      { requestId: request.requestId, method: request.method, host, bucket: target.bucket, key: target.key },
      config.deps.logger,
    );
  }
}

/**
 * A body that was destroyed before its end: the client went away mid-upload. That is not a server
 * bug, so it is not logged as one (no response can reach the client anyway).
 */
function clientGone(body: Readable): boolean {
  return body.destroyed && !body.readableEnded;
}

function targetKind(target: RequestTarget): Target {
  if (target.bucket === undefined) return 'service';
  return target.key === undefined ? 'bucket' : 'object';
}
