/**
 * The values every operation works with: the parsed request (RequestContext), what it returns
 * (OssResponse) and what it may use (ServerDeps). Operations never see node's req/res; only
 * http-adapter.ts does (STYLE.md §3.3).
 *
 * Invariant: `bucket` and `key` are already resolved from virtual-host or path style, decoded and
 * validated (bucket-name.ts, object-key.ts) before any operation runs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ObjectStore } from '../../store/object-store.ts';
import type { Principal } from './principal.ts';
import type { CallbackSpec } from '../../callback/parse-callback.ts';
import type { CallbackRuntime } from '../callback/callback-runtime.ts';

export interface RequestContext {
  /** 24 upper-case hex characters, also sent as `x-oss-request-id`. */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path exactly as sent, before `?` (signatures are computed over it). */
  readonly rawPath: string;
  /** The query string exactly as sent, parsed without further decoding of keys. */
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly bucket?: string | undefined;
  readonly key?: string | undefined;
  /** The request body; operations stream it into the store, never buffer it. */
  readonly body: Readable;
  /** Who is asking, after authenticate(); anonymous until then. */
  readonly principal: Principal;
  /** The client's address (`${clientIp}` of upload callbacks, SPEC.md §3.1), when known. */
  readonly clientIp?: string | undefined;
  /**
   * The callback parameter (header or presigned query), when access control has parsed it (for
   * temporary credentials), so the upload-callback step does not parse it again.
   */
  readonly parsedCallback?: ParsedCallback | undefined;
}

/** A request's callback parameter, parsed: `spec` is undefined when it asks for no callback. */
export interface ParsedCallback {
  readonly spec: CallbackSpec | undefined;
}

export type HeaderValue = string | number | undefined;

export interface OssResponse {
  status: number;
  headers?: Record<string, HeaderValue>;
  /** Strings and Buffers are sent with Content-Length; a Readable is piped. */
  body?: string | Buffer | Readable;
  /** The OSS error code of an error response (send-error.ts), for the log line; never sent as such. */
  errorCode?: string | undefined;
}

/** The identity upcall reports as bucket and object owner (single-tenant server). */
export interface Owner {
  id: string;
  displayName: string;
}

export interface ServerDeps {
  readonly store: ObjectStore;
  readonly now: () => Date;
  readonly logger: Logger;
  /** The region reported by GetBucketLocation / GetBucketInfo, e.g. `oss-cn-hangzhou`. */
  readonly region: string;
  readonly owner: Owner;
  /** How long a RestoreObject takes to complete (ServerOptions.restoreDelayMs). */
  readonly restoreDelayMs: number;
  /** Upload callbacks (upload-callback.ts); absent: callback parameters are validated and ignored. */
  readonly callbackRuntime?: CallbackRuntime | undefined;
  /**
   * The secret of an access key id (undefined when unknown), for operations that verify a
   * signature themselves: PostObject carries its signature in form fields (post-object-auth.ts).
   */
  readonly credentials?: ((accessKeyId: string) => string | undefined) | undefined;
}

export type Operation = (ctx: RequestContext, deps: ServerDeps) => Promise<OssResponse>;

/** The first value of a request header, or undefined. */
export function header(ctx: Pick<RequestContext, 'headers'>, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
