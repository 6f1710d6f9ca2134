/**
 * When the S3 client tries a call again, and how long it waits first.
 *
 * Only calls that can be replayed are retried: GET, HEAD, DELETE, listing, CopyObject (no body;
 * its target is a fresh blob key) and DeleteObjects (a buffered body). A streamed PutObject cannot
 * be, because its body has been consumed; the caller (the gateway's client) retries the upload.
 *
 * Retried: failures the engine is expected to recover from. Network errors (refused, reset, a
 * connect / headers timeout) and 500 / 502 / 503 / 504 / SlowDown, as the AWS SDKs' standard retry
 * mode does. Waits are exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"), so gateways that failed together do not come back together.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** The cap of the first wait; each later one doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 2000 };

/** Engine answers worth another try. */
export function isRetryableAnswer(status: number, code: string): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504 || code === 'SlowDown';
}

/** System and undici error codes that mean the engine could not be reached or did not answer. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The error code when `error` says the engine was unreachable or silent, else undefined. undici
 * reports a refused connection to a name with several addresses as an AggregateError whose own
 * code is the first address's.
 */
export function unavailableReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const reason = unavailableReason(inner);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/** The wait before try number `attempt + 1` (attempt counts from 1): uniform in [0, cap]. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * cap);
}
