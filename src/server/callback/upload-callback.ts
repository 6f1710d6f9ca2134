/**
 * The upload-callback step of PutObject, PostObject and CompleteMultipartUpload (SPEC.md §6, §7,
 * §12): one value with two touch points around the operation's store write, in the spirit of
 * tusd's pre-finish hook.
 *
 *   const callback = await uploadCallbackFromRequest(ctx, deps, 'PutObject', { bucket, key, meta });
 *   const object = await deps.store.putObject(…, { …, onReceived: callback?.onReceived });
 *   const response = { status: 200, headers: uploadResultHeaders(object) };
 *   return callback === undefined ? response : callback.answer(object, response);
 *
 * `onReceived` builds the callback and starts its RSA signature as soon as the body is hashed and
 * the store has started its durable write, so the signing runs while the store makes the body
 * durable and commits instead of after; `answer` sends it (or builds it from the stored object
 * when nothing was started) and makes the reply.
 *
 * Invariants: a bad callback parameter fails the request with 400 before anything is stored
 * (§12.2); once the object is stored, the answer is 200 + the app server's JSON verbatim, or 203
 * CallbackFailed XML, both with the operation's success headers (§6.1, §6.2). Never a 5xx for a
 * callback that went wrong: the object is stored either way.
 */
import {
  parseCallback,
  parseFormCallback,
  type CallbackParser,
  type CallbackRequestParams,
  type CallbackSpec,
  type ParseCallbackOptions,
} from '../../callback/parse-callback.ts';
import {
  templateUsesImageInfo,
  type CallbackOperation,
  type UploadFacts,
} from '../../callback/render-callback-body.ts';
import type { ObjectMeta, ReceivedDigests, StoredObject } from '../../store/object-store.ts';
import { systemCallbackAddressGuard, type CallbackAddressGuard } from './callback-address-guard.ts';
import type { CallbackContext, PreparedCallback } from './callback-dispatcher.ts';
import type { CallbackRuntime } from './callback-runtime.ts';
import { readImageInfo } from '../image-info.ts';
import { redactUrl } from '../observability/redact.ts';
import {
  header,
  type HeaderValue,
  type OssResponse,
  type RequestContext,
  type ServerDeps,
} from '../pipeline/request-context.ts';
import { errorResponse } from '../pipeline/send-error.ts';

/** A validated callback, waiting for the object to be stored. */
export interface UploadCallback {
  readonly spec: CallbackSpec;
  readonly operation: CallbackOperation;
  /**
   * The store's `onReceived` hook: builds the callback from the received body's digests and starts
   * its RSA signature in a microtask, once the store has started making the object durable, so
   * signing runs while it does and the building does not delay it. Undefined when there is
   * nothing to start: no upload target given (CompleteMultipartUpload), or a body
   * template with `${imageInfo.*}`, which needs the stored object. If the upload fails after all,
   * the started signature is simply dropped. FIDELITY: the callback's `Date` is therefore the time
   * the body was hashed, a few milliseconds before the object is committed.
   */
  readonly onReceived: ((body: ReceivedDigests) => void) | undefined;
  /**
   * Runs the callback for the stored object and builds the client's answer from the operation's
   * `success` response (its headers are kept; its status and body are replaced).
   */
  answer(object: StoredObject, success: OssResponse): Promise<OssResponse>;
}

/** The object an upload writes, known before its body: what `onReceived` builds the callback for. */
export interface UploadTarget {
  readonly bucket: string;
  readonly key: string;
  readonly meta: ObjectMeta;
}

type CallbackDeps = Pick<ServerDeps, 'store' | 'logger' | 'callbackRuntime'>;
/** What the step reads of a request: its callback parameters and its answer context. */
export type CallbackRequest = Pick<
  RequestContext,
  'headers' | 'query' | 'requestId' | 'method' | 'clientIp' | 'principal' | 'parsedCallback'
>;

/** The callback parameters of a PutObject or CompleteMultipartUpload request (§2.1). */
export function callbackRequestParams(ctx: Pick<RequestContext, 'headers' | 'query'>): CallbackRequestParams {
  return {
    header: header(ctx, 'x-oss-callback'),
    query: ctx.query.get('callback') ?? undefined,
    varHeader: header(ctx, 'x-oss-callback-var'),
    varQuery: ctx.query.get('callback-var') ?? undefined,
  };
}

/**
 * The server's parser (it keeps recent values), or the plain functions when callbacks are off and
 * the parameters are only validated.
 */
export function callbackParser(deps: Pick<ServerDeps, 'callbackRuntime'>): CallbackParser {
  return deps.callbackRuntime?.parser ?? PLAIN_PARSER;
}

const PLAIN_PARSER: CallbackParser = { parseCallback, parseFormCallback };

/**
 * PutObject / CompleteMultipartUpload: the `x-oss-callback` header or the presigned `callback`
 * query, with `x-oss-callback-var` / `callback-var` (§2.1). Undefined when the request asks for
 * no callback, or when the server runs without callbacks.
 * @throws OssError InvalidArgument (400) with the §2.3 message, ArgumentName/ArgumentValue and EC
 */
export async function uploadCallbackFromRequest(
  ctx: CallbackRequest,
  deps: CallbackDeps,
  operation: 'PutObject' | 'CompleteMultipartUpload',
  upload?: UploadTarget,
): Promise<UploadCallback | undefined> {
  // Access control parsed it already for temporary credentials, without the literal-address
  // refusal; with that refusal on it is parsed again, so the refusal keeps its §12.2 place.
  const spec =
    ctx.parsedCallback !== undefined && addressGuard(deps) === undefined
      ? ctx.parsedCallback.spec
      : callbackParser(deps).parseCallback(callbackRequestParams(ctx), parseOptions(deps));
  return pending(spec, operation, ctx, upload, deps);
}

/**
 * PostObject: the `callback` form field and the `x:` fields (§7.2). `fields` are the form fields
 * before the file; call this before the file is stored.
 */
export async function uploadCallbackFromForm(
  ctx: CallbackRequest,
  fields: ReadonlyMap<string, string>,
  deps: CallbackDeps,
  upload: UploadTarget,
): Promise<UploadCallback | undefined> {
  const spec = callbackParser(deps).parseFormCallback(fields, parseOptions(deps));
  return pending(spec, 'PostObject', ctx, upload, deps);
}

/** Literal private IPs are refused while parsing, in §12.2 order; names after DNS (pending). */
function parseOptions(deps: CallbackDeps): ParseCallbackOptions {
  const guard = addressGuard(deps);
  return guard === undefined ? {} : { isForbiddenAddress: guard.isForbidden };
}

function addressGuard(deps: CallbackDeps): CallbackAddressGuard | undefined {
  const runtime = deps.callbackRuntime;
  if (runtime?.forbidPrivateAddresses !== true) return undefined;
  return runtime.addressGuard ?? systemCallbackAddressGuard;
}

async function pending(
  spec: CallbackSpec | undefined,
  operation: CallbackOperation,
  ctx: CallbackRequest,
  upload: UploadTarget | undefined,
  deps: CallbackDeps,
): Promise<UploadCallback | undefined> {
  const runtime = deps.callbackRuntime;
  if (spec === undefined || runtime === undefined) return undefined;
  await addressGuard(deps)?.assertPublic(spec, describeSpec(spec));
  const context = callbackAnswerContext(ctx);
  // Built and being signed since the body was received (onReceived), for answer() to send.
  let early: { readonly facts: UploadFacts; readonly prepared: PreparedCallback } | undefined;
  const onReceived =
    upload === undefined || templateUsesImageInfo(spec.body)
      ? undefined
      : (body: ReceivedDigests): void => {
          // Built in a microtask, not here: the store calls this hook just before it starts making
          // the body durable (for a small body, before it even opens the file), so work done here
          // delays the commit. Building it and handing an RSA signature to its worker took the event
          // loop 0.07-0.36 ms per upload at c1 on a loaded machine (mostly waking the worker;
          // unsigned: 15-25 µs; bench/findings.md); deferred, it runs while the threadpool opens,
          // writes and closes the blob. answer() runs only after the commit, so always after this.
          queueMicrotask(() => {
            try {
              const facts = uploadFacts(
                operation,
                { bucket: upload.bucket, key: upload.key, ...body },
                upload.meta.contentType,
                undefined,
                context,
              );
              early = { facts, prepared: runtime.dispatcher.prepare(spec, facts, dispatchContext(context)) };
            } catch {
              // Outside the store's call now, a throw would be uncaught: answer() builds it instead.
            }
          });
        };
  return {
    spec,
    operation,
    onReceived,
    answer: async (object, success) => {
      let prepared: PreparedCallback;
      if (early !== undefined && early.facts.etag === object.etag && early.facts.size === object.size) {
        prepared = early.prepared;
      } else {
        const imageInfo = templateUsesImageInfo(spec.body)
          ? await readImageInfo(deps.store, object.bucket, object.key, object.size)
          : undefined;
        const facts = uploadFacts(operation, object, object.meta.contentType, imageInfo, context);
        prepared = runtime.dispatcher.prepare(spec, facts, dispatchContext(context));
      }
      return answerWith(runtime, prepared, context, deps, success, object);
    },
  };
}

/** The ArgumentValue of a private-address error: the callback as JSON, as OSS echoes it (§2.3). */
function describeSpec(spec: CallbackSpec): string {
  return JSON.stringify({
    callbackUrl: spec.urls.map(String).join(';'),
    ...(spec.host !== undefined && { callbackHost: spec.host }),
    callbackBody: spec.body,
    callbackBodyType: spec.bodyType,
  });
}

interface CallbackAnswerContext {
  requestId: string;
  method: string;
  /** The Host the client addressed (HostId of the 203 XML). */
  host: string;
  clientIp: string;
  /** Requester id for `x-oss-requester`. */
  requester?: string | undefined;
}

/** The answer context of a request: who asked, for the callback's facts and the 203 XML. */
function callbackAnswerContext(ctx: CallbackRequest): CallbackAnswerContext {
  return {
    requestId: ctx.requestId,
    method: ctx.method,
    host: header(ctx, 'host') ?? '',
    clientIp: ctx.clientIp ?? '',
    // The owner's own keys act as the owner; temporary credentials name their key.
    requester: ctx.principal.kind === 'temporary' ? ctx.principal.accessKeyId : undefined,
  };
}

/** Sends the prepared callback and answers 200 + the app's JSON, or 203 CallbackFailed. */
async function answerWith(
  runtime: CallbackRuntime,
  prepared: PreparedCallback,
  context: CallbackAnswerContext,
  deps: CallbackDeps,
  success: OssResponse,
  object: StoredObject,
): Promise<OssResponse> {
  const outcome = await runtime.dispatcher.send(prepared);
  if (outcome.ok) {
    // Checked first: redacting parses the URL, which every successful upload would pay for.
    if (deps.logger.isLevelEnabled('debug')) {
      deps.logger.debug(
        { requestId: context.requestId, url: redactUrl(outcome.url), latencyMs: outcome.latencyMs },
        'upload callback succeeded',
      );
    }
    // §6.1: 200, the app's body verbatim as JSON, plus the usual success headers. FIDELITY: also
    // for a PostObject whose success_action_status or redirect asks for another answer.
    return {
      status: 200,
      headers: successHeaders(success, { 'Content-Type': 'application/json' }),
      body: outcome.body,
    };
  }
  // Warn: the uploader got a 203 and the app server never heard of this upload (issue 18). The
  // URL loses its query values and password: app servers put tokens there.
  deps.logger.warn(
    {
      bucket: object.bucket,
      key: object.key,
      requestId: context.requestId,
      url: redactUrl(outcome.url),
      latencyMs: outcome.latencyMs,
      reason: outcome.error.message,
    },
    'upload callback failed',
  );
  // §6.2: 203 CallbackFailed XML, with the upload's success headers; the object stays stored.
  const failure = errorResponse(
    outcome.error,
    { requestId: context.requestId, method: context.method, host: context.host },
    deps.logger,
  );
  return {
    status: failure.status,
    headers: successHeaders(success, failure.headers),
    body: failure.body ?? '',
  };
}

/** The §3.1 variables of an upload, from the stored object or the received body's digests. */
function uploadFacts(
  operation: CallbackOperation,
  object: Pick<StoredObject, 'bucket' | 'key' | 'etag' | 'size' | 'crc64' | 'contentMd5'>,
  mimeType: string,
  imageInfo: UploadFacts['imageInfo'],
  context: CallbackAnswerContext,
): UploadFacts {
  return {
    bucket: object.bucket,
    object: object.key,
    etag: object.etag,
    size: object.size,
    mimeType,
    imageInfo,
    crc64: object.crc64,
    // §3.1: only PutObject and PostObject have one; the store records none for multipart.
    contentMd5: operation === 'CompleteMultipartUpload' ? undefined : object.contentMd5,
    clientIp: context.clientIp,
    reqId: context.requestId,
    operation,
  };
}

function dispatchContext(context: CallbackAnswerContext): CallbackContext {
  return { requestId: context.requestId, requester: context.requester };
}

/** The operation's headers minus those describing the body it no longer sends, plus `added`. */
function successHeaders(
  response: OssResponse,
  added: Readonly<Record<string, HeaderValue>> | undefined,
): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {};
  for (const name in response.headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-type' || lower === 'content-length' || lower === 'location') continue;
    headers[name] = response.headers[name];
  }
  return Object.assign(headers, added);
}
