/**
 * The callback log (issue 18): every upload callback the server attempted, kept in the store's
 * metadata database so an operator can see what an app server never heard of, and redeliver it.
 * An optional capability of a store (`ObjectStore.callbackLog`), tusd-style: the fs backend keeps
 * it in its SQLite meta-db (fs/sqlite-callback-log.ts), the memory backend in memory
 * (memory/memory-callback-log.ts); a PostgreSQL backend implements the same contract. One contract
 * suite (test/contract/callback-log.contract.ts) runs against every implementation.
 *
 * One entry per upload (keyed by its request id): what was sent (URLs, Host, body type, the exact
 * body bytes) and every delivery of it, oldest first: the first one made by the upload, then each
 * redelivery. An entry is failed when its latest delivery failed.
 *
 * The store knows nothing of HTTP or callbacks beyond these values: the server decides what to
 * record, when to prune and how to redeliver.
 */

/** One POST to one callback URL. */
export interface CallbackAttempt {
  url: string;
  ok: boolean;
  /** The OSS message of a failed attempt (SPEC.md §5.2), '' when it succeeded. */
  message: string;
  latencyMs: number;
}

/** One send of a callback: its URLs in order until the first success (SPEC.md §4). */
export interface CallbackDelivery {
  at: Date;
  ok: boolean;
  /** The OSS message the uploader got (the last attempt's), '' on success. */
  message: string;
  latencyMs: number;
  attempts: CallbackAttempt[];
  /** The app server's reply body (UTF-8 JSON) when it succeeded, cut at the recorder's cap. */
  reply?: string;
  /** True when `reply` was cut. */
  replyTruncated?: boolean;
  /** False for the upload's own delivery, true for a redelivery. */
  redelivery: boolean;
}

/** What a callback sends, enough to send it again: the same body to the same URLs. */
export interface LoggedCallbackRequest {
  urls: string[];
  /** `callbackHost`, when the upload gave one. */
  host?: string;
  bodyType: string;
  sni: boolean;
  /** `x-oss-requester` when it was not the owner (temporary credentials). */
  requester?: string;
  /** The exact body bytes sent. */
  body: Buffer;
}

export interface CallbackLogEntry {
  requestId: string;
  bucket: string;
  key: string;
  /** PutObject, PostObject or CompleteMultipartUpload. */
  operation: string;
  /** When the first delivery was made. */
  createdAt: Date;
  request: LoggedCallbackRequest;
  /** Oldest first; never empty. */
  deliveries: CallbackDelivery[];
}

/** One write: the first delivery of a callback (creates its entry) or a redelivery (appends). */
export type CallbackLogWrite =
  | { kind: 'first'; entry: Omit<CallbackLogEntry, 'deliveries' | 'createdAt'>; delivery: CallbackDelivery }
  | { kind: 'redelivery'; requestId: string; delivery: CallbackDelivery };

export interface CallbackLogQuery {
  /** Only entries whose latest delivery failed. */
  failed?: boolean;
  bucket?: string;
  key?: string;
  /** Only entries created at or after this time. */
  since?: Date;
  /** Newest first; at most this many (1..1000). */
  limit: number;
  /** Continue after this marker (a previous page's `nextMarker`). */
  marker?: string;
}

export interface CallbackLogPage {
  entries: CallbackLogEntry[];
  /** Present when more entries match: pass it as `marker` for the next page. */
  nextMarker?: string;
}

export interface CallbackLogRetention {
  /** Entries created longer ago than this are dropped. */
  maxAgeMs: number;
  /** Beyond this many entries, the oldest are dropped. */
  maxEntries: number;
}

export interface CallbackLog {
  /**
   * Commits the writes in order, in one transaction where the backend has them. A redelivery of
   * a request id the log no longer holds (pruned meanwhile) is dropped; a second `first` write of
   * the same request id replaces nothing (the first one wins).
   */
  record(writes: readonly CallbackLogWrite[]): Promise<void>;
  /** The entry of an upload's request id, or undefined. */
  get(requestId: string): Promise<CallbackLogEntry | undefined>;
  /** Matching entries, newest first. A marker that names no entry continues from where it would be. */
  list(query: CallbackLogQuery): Promise<CallbackLogPage>;
  /** Drops entries past the retention; returns how many were dropped. */
  prune(now: Date, retention: CallbackLogRetention): Promise<number>;
}
