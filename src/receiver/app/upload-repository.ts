/**
 * Storage contracts of the receiver app: the upload records and the durable hook-job queue.
 * SQLite (`sqlite-receiver-store.ts`) and PostgreSQL (`pg-receiver-store.ts`) implement both.
 * Invariant for both: a record or job that a method has resolved for is durable (it survives a
 * restart), so the reply to OSS never promises more than is stored.
 */
import type { JsonValue } from 'upcall-verify';
import type { NewUploadRecord, UploadPage, UploadQuery, UploadRecord } from './upload-record.ts';

export interface UploadRepository {
  /** Stores a record and queues one job per named async hook, atomically. Returns the new id. */
  insert(record: NewUploadRecord, hookNames: readonly string[]): Promise<number>;
  /**
   * `insert`, then `setReply` with the reply `replyOf` makes from the new id, in one write where
   * the store can (SQLite: one transaction). Resolves once both are durable. Optional: without it
   * the receiver calls the two in turn.
   */
  insertWithReply?(
    record: NewUploadRecord,
    hookNames: readonly string[],
    replyOf: (id: number) => { reply: JsonValue; latencyMs?: number },
  ): Promise<number>;
  /** Remembers the reply sent for a record and how long the receiver took to make it (ms). */
  setReply(id: number, reply: JsonValue, latencyMs?: number): Promise<void>;
  get(id: number): Promise<UploadRecord | undefined>;
  /**
   * The verified record of an earlier delivery of the same callback: the same `x-oss-request-id`
   * and signature (a redelivery, issue 18). Optional: a store without it records each delivery.
   * A store with it refuses (`insert` rejects) a second verified record of that pair, so a
   * redelivery, or two racing deliveries, leave one record; the caller then asks this method.
   */
  findDelivery?(requestId: string, signature: string): Promise<UploadRecord | undefined>;
  /**
   * Newest first. Each record's `rawBody` may be cut to its first `LIST_BODY_EXCERPT_BYTES`
   * (`bodySize` then gives the whole size): `get` is where whole bodies come from. Honours
   * `query.maxBytes` so a page stays small whatever was recorded.
   * @throws RangeError on a malformed cursor.
   */
  list(query: UploadQuery): Promise<UploadPage>;
  /**
   * Drops all but the newest `keep` refused records (verified: false). Optional: a store without
   * it keeps every refused record, so its owner must bound it some other way.
   */
  pruneRefused?(keep: number): Promise<void>;
}

/** How much of each body a list page carries, and how much of a refused callback is kept. */
export const LIST_BODY_EXCERPT_BYTES = 4096;

export type HookJobState = 'pending' | 'running' | 'done' | 'failed';

export interface HookJob {
  id: number;
  uploadId: number;
  hook: string;
  state: HookJobState;
  attempts: number;
  /** Unix ms at which a pending job becomes due. */
  nextRunAt: number;
  lastError?: string;
  updatedAt: number;
}

export interface HookJobQueue {
  /** Takes the oldest due pending job and marks it running (attempts + 1), or undefined. */
  claim(now: number): Promise<HookJob | undefined>;
  complete(id: number, now: number): Promise<void>;
  /** Back to pending at `retryAt`, or `failed` when `retryAt` is undefined. */
  fail(id: number, error: string, now: number, retryAt: number | undefined): Promise<void>;
  /** Crash recovery at start: jobs left `running` by a dead process become due again. */
  requeueRunning(now: number): Promise<number>;
  jobsFor(uploadId: number): Promise<HookJob[]>;
  /**
   * How many jobs are in each state now, for the metrics gauges (docs/operations.md). Optional: a
   * queue without it reports no hook-job gauges.
   */
  countByState?(): Promise<Partial<Record<HookJobState, number>>>;
}
