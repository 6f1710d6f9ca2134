/**
 * The writes on the receiver's callback path (a new upload with its `x:` vars and hook jobs; the
 * reply sent for it), committed in groups: every write asked for during one turn of the event
 * loop goes into one SQLite transaction, and each caller's promise settles once that transaction
 * has committed.
 *
 * Why not Kysely here: under load each callback cost two transactions built query by query, and
 * compiling the SQL plus the async hops of Kysely's transaction cost as much as SQLite's own work
 * (bench/findings.md). These statements are fixed, so they are prepared once and run
 * synchronously through better-sqlite3. Reads and the hook queue stay on Kysely. A reply made from
 * the new id (`replyOf`) is written in the upload's row itself: its id is taken from the sequence
 * inside the transaction, so the row needs no second write.
 *
 * Refused callbacks are bounded here too: a prune (keep the newest N refused records) joins the
 * group of the inserts it follows, so the table never commits more than N of them plus one group.
 *
 * Invariants: a write that resolved is committed; a write that fails (e.g. a NOT NULL column
 * given NaN) rejects alone, since a failed group is retried one write at a time; `flush()` on
 * close commits whatever is still queued. The store opens no Kysely transaction on this
 * connection: one held open across an await would swallow these writes as a nested savepoint.
 */
import type Database from 'better-sqlite3';
import type { NewUpload, UploadWriter } from './upload-writer.ts';

/** A queued write and how to settle its caller's promise (with the row id it wrote to). */
type Write = { resolve: (id: number) => void; reject: (err: unknown) => void } & (
  | { kind: 'insert'; upload: NewUpload }
  | { kind: 'reply'; id: number; json: string; latencyMs: number | null }
  | { kind: 'prune'; keep: number }
);

export function createUploadWriter(database: Database.Database, columns: readonly string[]): UploadWriter {
  // Every upload is inserted with its id (taken below) and its reply when it has one made from
  // that id: writing the default reply in the row saves an UPDATE of it (a second B-tree write)
  // per callback.
  const rowColumns = columns.filter((c) => c !== 'reply_json' && c !== 'latency_ms');
  const insertUpload = database.prepare(
    `insert into "uploads" ("id", "reply_json", "latency_ms", ${rowColumns.map((c) => `"${c}"`).join(', ')}) ` +
      `values (?, ?, ?, ${rowColumns.map((c) => `@${c}`).join(', ')})`,
  );
  // The id the next insert gets: uploads is AUTOINCREMENT, so one past the largest id ever used
  // (sqlite_sequence), or past the largest id present should the sequence lack its row. Read
  // once per transaction, which holds the write lock, so no other writer can take it meanwhile.
  const lastUploadId = database
    .prepare(
      'select max(' +
        `coalesce((select "seq" from "sqlite_sequence" where "name" = 'uploads'), 0), ` +
        'coalesce((select max("id") from "uploads"), 0))',
    )
    .pluck();
  let nextId = 0;
  const insertVar = database.prepare(
    'insert into "upload_vars" ("upload_id", "name", "value") values (?, ?, ?)',
  );
  const insertJob = database.prepare(
    'insert into "hook_jobs" ("upload_id", "hook", "state", "attempts", "next_run_at", "last_error", "updated_at") ' +
      "values (?, ?, 'pending', 0, ?, null, ?)",
  );
  const updateReply = database.prepare(
    'update "uploads" set "reply_json" = ?, "latency_ms" = ? where "id" = ?',
  );
  // The id of the oldest refused record to keep, then everything refused below it goes; both
  // walk the partial index of refused records (uploads_refused_id).
  const pruneRefused = database.prepare(
    'delete from "uploads" where "verified" = 0 and "id" < (' +
      'select "id" from "uploads" where "verified" = 0 order by "id" desc limit 1 offset ?)',
  );

  const apply = (write: Write): number => {
    if (write.kind === 'reply') {
      updateReply.run(write.json, write.latencyMs, write.id);
      return write.id;
    }
    if (write.kind === 'prune') {
      pruneRefused.run(Math.max(write.keep - 1, 0));
      return 0;
    }
    const { row, vars, hookNames, receivedAt, replyOf } = write.upload;
    const id = nextId++;
    // The reply in the record's own row: no second group, and no moment at which the record is
    // visible without it.
    const reply = replyOf?.(id);
    insertUpload.run(id, reply?.json ?? null, reply?.latencyMs ?? null, row);
    for (const [name, value] of Object.entries(vars)) insertVar.run(id, name, value);
    for (const hook of hookNames) insertJob.run(id, hook, receivedAt, receivedAt);
    return id;
  };
  const commit = database.transaction((writes: readonly Write[]) => {
    nextId = (lastUploadId.get() as number) + 1;
    return writes.map(apply);
  });

  let queued: Write[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (queued.length === 0) return;
    const writes = queued;
    queued = [];
    let ids: number[];
    try {
      ids = commit(writes);
    } catch {
      // The whole group rolled back; find the write that failed by committing each alone.
      for (const write of writes) {
        try {
          write.resolve(commit([write])[0]!);
        } catch (err) {
          write.reject(err);
        }
      }
      return;
    }
    writes.forEach((write, i) => write.resolve(ids[i]!));
  };
  const enqueue = (write: Write): void => {
    queued.push(write);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    insert: (upload) =>
      new Promise((resolve, reject) => enqueue({ kind: 'insert', upload, resolve, reject })),
    setReply: (id, json, latencyMs) =>
      new Promise((resolve, reject) =>
        enqueue({ kind: 'reply', id, json, latencyMs, resolve: () => resolve(), reject }),
      ),
    pruneRefused: (keep) =>
      new Promise((resolve, reject) => enqueue({ kind: 'prune', keep, resolve: () => resolve(), reject })),
    flush,
  };
}
