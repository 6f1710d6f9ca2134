/**
 * The callback path's writes, as the upload repository hands them to a store: a new upload with
 * its `x:` vars and hook jobs, the reply sent for it, the pruning of refused records. SQLite
 * commits them in groups through prepared statements (`sqlite-upload-writer.ts`); PostgreSQL in
 * groups too, one statement per group that also enqueues their jobs (`pg-upload-writer.ts`). Invariant for
 * both: a write that resolved is committed, and an upload is committed with its jobs or not at all.
 */

/** The `uploads` row as bound to the insert (named parameters, one per column but `id`). */
export type UploadRow = Record<string, string | number | Buffer | null>;

export interface NewUpload {
  row: UploadRow;
  vars: Readonly<Record<string, string>>;
  hookNames: readonly string[];
  /** Due time and update time of the queued hook jobs (Unix ms). */
  receivedAt: number;
  /**
   * The reply to record with the upload, made from its new id: SQLite stores it in the upload's
   * own transaction, PostgreSQL in the upload's row (the id taken from the sequence first).
   * Saves a second write (and on SQLite a second transaction) when the reply needs nothing
   * asynchronous.
   */
  replyOf?: (id: number) => { json: string; latencyMs: number | null };
}

export interface UploadWriter {
  insert(upload: NewUpload): Promise<number>;
  setReply(id: number, replyJson: string, latencyMs: number | null): Promise<void>;
  /** Deletes all but the newest `keep` refused uploads (their vars go with them). */
  pruneRefused(keep: number): Promise<void>;
  /** Commits the queued writes now (before closing the database). */
  flush(): void;
}
