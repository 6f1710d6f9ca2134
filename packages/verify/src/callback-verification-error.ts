/**
 * The receiver's one error type (STYLE.md §3.6): every reason a callback is refused, as a closed
 * union so adapters and apps can `switch (err.reason)` exhaustively. Adapters turn it into the
 * debug-server reply of `callback-reply.ts`; the message is safe to show (no secrets, no key bytes).
 */
export type CallbackVerificationReason =
  /** The request is not a POST (OSS only ever POSTs callbacks, SPEC.md §4). */
  | 'method-not-allowed'
  /** The body is larger than the configured cap. */
  | 'body-too-large'
  /** The body was already consumed or parsed by other middleware (e.g. `express.json()`). */
  | 'body-unavailable'
  /** No `Authorization` header (often a proxy that strips it). */
  | 'missing-signature'
  /** `x-oss-pub-key-url` is missing, not base64, or not a URL. */
  | 'bad-key-url'
  /** The key URL is not under an allowlisted prefix (SPEC.md §1.2 prefix check). */
  | 'key-host-not-allowed'
  /** The key could not be fetched: network error, timeout, non-200, redirect, too large. */
  | 'key-fetch-failed'
  /** The fetched document is not an RSA public key. */
  | 'bad-public-key'
  /** The signature does not match the request (SPEC.md §1.1). */
  | 'signature-mismatch';

export class CallbackVerificationError extends Error {
  override readonly name = 'CallbackVerificationError';
  readonly reason: CallbackVerificationReason;

  constructor(reason: CallbackVerificationReason, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export function isCallbackVerificationError(value: unknown): value is CallbackVerificationError {
  return value instanceof CallbackVerificationError;
}
