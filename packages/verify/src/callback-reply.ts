/**
 * What a callback endpoint answers, shaped like OSS's demo callback server: 200 `{"Status":"OK"}`
 * after a verified POST, 400 when a check fails, 501 for other methods (SPEC.md §5.1, §9).
 * Invariant: every reply is JSON with an explicit Content-Length, because OSS fails a callback
 * whose reply lacks one (chunked replies, SPEC.md §5.2 "missing content-length").
 */
import type { CallbackVerificationError, CallbackVerificationReason } from './callback-verification-error.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [name: string]: JsonValue };

export interface CallbackReply {
  status: number;
  headers: Record<string, string>;
  /** Serialised JSON, UTF-8, no BOM (a BOM makes OSS reject the reply, SPEC.md §5.1). */
  body: string;
}

export const DEFAULT_CALLBACK_REPLY: JsonValue = { Status: 'OK' };

export function jsonReply(status: number, value: JsonValue): CallbackReply {
  const body = JSON.stringify(value);
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

export function statusForReason(reason: CallbackVerificationReason): number {
  switch (reason) {
    case 'method-not-allowed':
      return 501; // as the official demo server does for non-POST
    case 'body-too-large':
      return 413;
    case 'missing-signature':
    case 'bad-key-url':
    case 'key-host-not-allowed':
    case 'key-fetch-failed':
    case 'bad-public-key':
    case 'signature-mismatch':
    case 'body-unavailable':
      return 400;
  }
}

export function rejectionReply(error: CallbackVerificationError): CallbackReply {
  return jsonReply(statusForReason(error.reason), {
    Status: 'Failed',
    Reason: error.reason,
    Message: error.message,
  });
}

/** For a handler that threw after verification: OSS reports `Error status : 500.` to the uploader. */
export function internalErrorReply(): CallbackReply {
  return jsonReply(500, { Status: 'Error', Message: 'The callback handler failed.' });
}
