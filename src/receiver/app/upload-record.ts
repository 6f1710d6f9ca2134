/**
 * What the receiver app remembers about each callback it received (verified or refused), and the
 * query shape of the REST API. Plain data: no database types leak out of the repository.
 */
import type {
  CallbackBodyFacts,
  CallbackBodyFormat,
  JsonValue,
  CallbackVerificationReason,
} from 'upcall-verify';

/** The upload facts of the callback body (bucket, object, etag, size, mimeType, imageInfo, `x:` vars, fields), and how it came. */
export interface NewUploadRecord extends Omit<CallbackBodyFacts, 'format'> {
  receivedAt: number; // Unix ms
  verified: boolean;
  /** Why the callback was refused; absent when verified. */
  rejectReason?: CallbackVerificationReason;
  /**
   * The body is a rendering of a callback template this receiver issued (bound into the
   * credentials and post policies it hands out; issued-callback-template.ts), so its fields were
   * filled in by the storage server. False or absent: the fields say whatever the uploader's
   * template said.
   */
  templateIssued?: boolean;
  bodyFormat: CallbackBodyFormat;
  clientIp?: string;
  requestId?: string;
  keyUrl?: string;
  /** The raw request-target the signature covered. */
  target: string;
  headers: Record<string, string>;
  /** The body as received, or only its start when `bodySize` says it was longer. */
  rawBody: Uint8Array;
  /**
   * The body's size as received, in bytes, when `rawBody` holds only its start: a refused callback
   * keeps an excerpt (anyone can post junk to the callback URL), and list pages carry excerpts.
   * Absent when `rawBody` is the whole body.
   */
  bodySize?: number;
}

export interface UploadRecord extends NewUploadRecord {
  id: number;
  /** The JSON the app answered OSS with, once sent. */
  reply?: JsonValue;
  /**
   * How long this receiver took to answer the callback, in ms: from the request's arrival to the
   * reply being ready (verify, record, sync hook), the part of OSS's 5 s budget spent here. Kept
   * with the reply, so it survives restarts.
   */
  latencyMs?: number;
}

export interface UploadQuery {
  bucket?: string;
  /** Object key prefix. */
  prefix?: string;
  mimeType?: string;
  /** Only uploads whose `x:` variable `name` equals `value` (any value when `value` is absent). */
  vars?: { name: string; value?: string }[];
  verified?: boolean;
  /** Unix ms, inclusive. */
  since?: number;
  /** Unix ms, exclusive. */
  until?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** Page size, 1..1000. */
  limit?: number;
  /**
   * A budget for the page, in bytes of record data (bodies count up to the excerpt): the page
   * ends early, with a `nextCursor`, once its records pass it. At least one record per page.
   */
  maxBytes?: number;
}

export interface UploadPage {
  uploads: UploadRecord[];
  /** Present when more records match: pass it as `cursor` for the next (older) page. */
  nextCursor?: string;
}
