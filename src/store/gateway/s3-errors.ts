/**
 * What an S3 engine can answer instead of success, as values the client and the blob store branch
 * on: S3Error (the engine answered, with an `<Error><Code>` document or a bare status) and
 * S3UnavailableError (no usable answer: connection refused or reset, a timeout, or a 5xx / SlowDown
 * that survived the retries).
 *
 * Invariant: no message carries an object key, a secret or a signature. The engine's own
 * `<Message>` is kept apart in `engineMessage` (it may quote the key or the string to sign), and
 * only the code, the status and the request id go into `message`.
 */
import { parseXml, childText } from '../../shared/xml.ts';

/** The action that failed, by its S3 name. */
export type S3Operation =
  'PutObject' | 'GetObject' | 'CopyObject' | 'DeleteObjects' | 'ListObjectsV2' | 'HeadBucket';

export class S3Error extends Error {
  override readonly name = 'S3Error';

  constructor(
    readonly operation: S3Operation,
    readonly status: number,
    /** `<Code>`, or a name for the status when the engine sent no document (HEAD, proxies). */
    readonly code: string,
    readonly requestId: string | undefined,
    readonly engineMessage: string | undefined,
  ) {
    super(
      `${operation}: the S3 engine answered ${status} ${code}${requestId === undefined ? '' : ` (request id ${requestId})`}`,
    );
  }
}

export class S3UnavailableError extends Error {
  override readonly name = 'S3UnavailableError';

  constructor(
    readonly operation: S3Operation,
    /** Why: an undici / system error code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT) or `<status> <Code>`. */
    readonly reason: string,
    readonly attempts: number,
    cause?: unknown,
  ) {
    super(
      `${operation}: the S3 engine is unavailable (${reason}, ${attempts} attempt${attempts === 1 ? '' : 's'})`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Names for statuses that come without a document (HEAD requests, proxies in front of the engine). */
const STATUS_CODES: Readonly<Record<number, string>> = {
  301: 'PermanentRedirect',
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  411: 'MissingContentLength',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
  500: 'InternalError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** An S3Error from a status and the (possibly empty or non-XML) error body. */
export function s3ErrorFromResponse(
  operation: S3Operation,
  status: number,
  body: string,
  requestIdHeader: string | undefined,
): S3Error {
  const fallbackCode = STATUS_CODES[status] ?? `HTTP${status}`;
  const document = parseErrorDocument(body);
  return new S3Error(
    operation,
    status,
    document?.code ?? fallbackCode,
    document?.requestId ?? requestIdHeader,
    document?.message,
  );
}

interface ErrorDocument {
  code: string;
  message: string | undefined;
  requestId: string | undefined;
}

/**
 * `<Error><Code>…</Code>…</Error>`, or undefined when the body is not such a document (an empty
 * HEAD answer, an HTML page from a proxy). CopyObject can also answer 200 with one (AWS: "the
 * error is embedded in the 200 OK response"), so the client checks copy results with this too.
 */
export function parseErrorDocument(body: string): ErrorDocument | undefined {
  if (!body.includes('<Error')) return undefined;
  try {
    const root = parseXml(body).Error;
    if (root === undefined || typeof root === 'string' || Array.isArray(root)) return undefined;
    const code = childText(root, 'Code');
    if (code === undefined || code === '') return undefined;
    return { code, message: childText(root, 'Message'), requestId: childText(root, 'RequestId') };
  } catch {
    return undefined;
  }
}
