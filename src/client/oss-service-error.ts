/**
 * What the client makes of an OSS error reply (SPEC.md §6.2): the `<Error>` document of a failed
 * request, or of a 203 whose upload was stored but whose callback failed.
 *
 * A client talks to any OSS-compatible server, whose codes need not be in upcall's catalogue, so
 * this is its own type: `code` is the wire string and `status` the status actually received
 * (the server-side OssError takes both from the catalogue). Invariant: parsing never throws; a
 * body that is not error XML (a proxy's HTML page, an empty HEAD reply) still yields an error
 * with the status, the `x-oss-request-id` and the first bytes of the body as its message.
 */
import { childText, parseXml, type XmlObject } from '../shared/xml.ts';

export class OssServiceError extends Error {
  override readonly name = 'OssServiceError';
  /** The `<Code>`, e.g. `NoSuchKey`, `CallbackFailed`; `UnknownError` when the body had none. */
  readonly code: string;
  readonly status: number;
  readonly requestId: string | undefined;
  readonly hostId: string | undefined;
  /** The `<EC>` error-center code, e.g. `0007-00000203`. */
  readonly ec: string | undefined;
  /** Every other child of `<Error>` (BucketName, Key, StringToSign, …). */
  readonly details: Readonly<Record<string, string>>;

  constructor(init: {
    code: string;
    status: number;
    message: string;
    requestId?: string | undefined;
    hostId?: string | undefined;
    ec?: string | undefined;
    details?: Record<string, string>;
  }) {
    super(init.message);
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.hostId = init.hostId;
    this.ec = init.ec;
    this.details = init.details ?? {};
  }
}

const KNOWN_FIELDS = new Set(['Code', 'Message', 'RequestId', 'HostId', 'EC']);

/**
 * Builds the error from a reply. `body` may be empty (HEAD); then the base64 `x-oss-err` header
 * that OSS sends on bodiless errors is read instead (SPEC.md §8.2).
 */
export function parseOssServiceError(
  status: number,
  body: string,
  headers: Readonly<Record<string, string | undefined>>,
): OssServiceError {
  const requestId = headers['x-oss-request-id'];
  let text = body;
  if (text.trim() === '' && headers['x-oss-err'] !== undefined) {
    text = Buffer.from(headers['x-oss-err'], 'base64').toString('utf8');
  }
  const error = readErrorDocument(text);
  if (error === undefined) {
    const snippet = text.trim().slice(0, 200);
    return new OssServiceError({
      code: 'UnknownError',
      status,
      message: snippet === '' ? `HTTP ${status} with no error document` : `HTTP ${status}: ${snippet}`,
      requestId,
    });
  }
  const details: Record<string, string> = {};
  for (const name of Object.keys(error)) {
    if (KNOWN_FIELDS.has(name)) continue;
    const value = childText(error, name);
    if (value !== undefined && name !== '#text') details[name] = value;
  }
  return new OssServiceError({
    code: childText(error, 'Code') ?? 'UnknownError',
    status,
    message: childText(error, 'Message') ?? `HTTP ${status}`,
    requestId: childText(error, 'RequestId') ?? requestId,
    hostId: childText(error, 'HostId'),
    ec: childText(error, 'EC'),
    details,
  });
}

function readErrorDocument(text: string): XmlObject | undefined {
  if (!text.includes('<Error')) return undefined;
  try {
    const root = parseXml(text).Error;
    return typeof root === 'object' && !Array.isArray(root) ? root : undefined;
  } catch {
    return undefined;
  }
}
