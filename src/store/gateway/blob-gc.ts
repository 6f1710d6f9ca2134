/**
 * Garbage collection of blobs, which replaces the fs store's per-process read pins (they cannot
 * work across gateways). Two tables say which blobs may go:
 * - `blob_gc(blob_key, due_ms)`: blobs a commit stopped referencing (an object deleted or
 *   replaced, a part replaced, an upload aborted). The commit inserts them in its own
 *   transaction, due `graceMs` later: a reader that read the old row before the commit finds its
 *   blobs for the whole grace period, which must exceed the longest read.
 * - `blob_intent(blob_key, created_ms)`: blobs being written, inserted (and committed) before
 *   their PUT starts and deleted by the commit that references them. A gateway killed mid-upload
 *   leaves its intents behind; once older than the grace they are orphans. So the grace must also
 *   exceed the longest upload (a 5 GiB part at 2 MB/s is 45 min; the default is 1 h).
 *
 * The sweep is durable (it works from the tables, whatever process wrote them) and safe on every
 * gateway at once: each batch locks its rows `FOR UPDATE SKIP LOCKED`, deletes the blobs from the
 * engine, then deletes the rows in the same transaction. A crash between the two leaves the rows,
 * and deleting a missing blob again is not an error.
 */
import type pg from 'pg';
import type { BlobStore } from './blob-store.ts';
import { query, transaction } from './pg-pool.ts';

/** Rows per batch: one DeleteObjects call at most (1000 keys is S3's limit). */
const BATCH = 500;

/** Records `keys` (no longer referenced by the transaction's commit) to be deleted at `dueMs`. */
export async function recordGarbage(
  client: pg.ClientBase,
  keys: readonly string[],
  dueMs: number,
): Promise<void> {
  if (keys.length === 0) return;
  await client.query(
    `INSERT INTO blob_gc (blob_key, due_ms) SELECT unnest($1::text[]), $2
     ON CONFLICT (blob_key) DO UPDATE SET due_ms = LEAST(blob_gc.due_ms, EXCLUDED.due_ms)`,
    [keys, dueMs],
  );
}

/** Intents per INSERT at most (a bound on one statement's parameters, not a tuning knob). */
const INTENT_GROUP = 256;

/**
 * Commits that blobs are about to be written, each before its PUT starts. The intents asked for
 * while an INSERT is under way are committed together, in the next one (group commit): one round
 * trip for the first upload, and one for every group of uploads that started during it. So
 * concurrent small PUTs share their intent INSERT instead of each paying a round trip and a
 * commit, and an upload never waits for more than the INSERT in flight plus its own.
 */
export class IntentRecorder {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  #queued: { key: string; settle: (error?: Error) => void }[] = [];
  #flushing = false;

  constructor(pool: pg.Pool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  /** Resolves once the intent for `key` is committed. */
  record(key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ key, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queued.length > 0) {
      const group = this.#queued.splice(0, INTENT_GROUP);
      let failure: Error | undefined;
      try {
        await query(
          this.#pool,
          'INSERT INTO blob_intent (blob_key, created_ms) SELECT unnest($1::text[]), $2::bigint',
          [group.map((entry) => entry.key), this.#now()],
          'upcall_record_intents',
        );
      } catch (error) {
        // Every upload of the group fails with the database's error (e.g. ServiceUnavailable).
        failure = error instanceof Error ? error : new Error('recording the blob intents failed');
      }
      for (const entry of group) entry.settle(failure);
    }
    this.#flushing = false;
  }
}

/** Inside the commit that references `keys`: they are written and owned by a row now. */
export async function forgetIntents(client: pg.ClientBase, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.query('DELETE FROM blob_intent WHERE blob_key = ANY($1::text[])', [keys]);
}

/**
 * Blobs written but never committed (the write failed, a check refused it): deleted now, and their
 * intents with them. If the engine cannot delete them now, the intents stay for the sweep.
 */
export async function discardUncommitted(
  pool: pg.Pool,
  blobs: BlobStore,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  try {
    await blobs.delete(keys);
    await query(pool, 'DELETE FROM blob_intent WHERE blob_key = ANY($1::text[])', [keys]);
  } catch {
    // Left to the sweep: the intents are its record of these blobs.
  }
}

export interface SweepOptions {
  pool: pg.Pool;
  blobs: BlobStore;
  graceMs: number;
  now: () => number;
}

/** One pass over both tables; returns how many blobs it deleted. */
export async function sweepGarbage(options: SweepOptions): Promise<number> {
  const { pool, blobs, graceMs, now } = options;
  let deleted = 0;
  const drain = async (select: string, remove: string, bound: () => number): Promise<void> => {
    for (;;) {
      const n = await transaction(pool, async (client) => {
        const { rows } = await client.query<{ blob_key: string }>(select, [bound(), BATCH]);
        if (rows.length === 0) return 0;
        const keys = rows.map((r) => r.blob_key);
        await blobs.delete(keys);
        await client.query(remove, [keys]);
        return keys.length;
      });
      deleted += n;
      if (n < BATCH) return;
    }
  };
  await drain(
    'SELECT blob_key FROM blob_gc WHERE due_ms <= $1 ORDER BY due_ms LIMIT $2 FOR UPDATE SKIP LOCKED',
    'DELETE FROM blob_gc WHERE blob_key = ANY($1::text[])',
    () => now(),
  );
  await drain(
    'SELECT blob_key FROM blob_intent WHERE created_ms <= $1 ORDER BY created_ms LIMIT $2 FOR UPDATE SKIP LOCKED',
    'DELETE FROM blob_intent WHERE blob_key = ANY($1::text[])',
    () => now() - graceMs,
  );
  return deleted;
}

/**
 * Runs the sweep every `intervalMs` (unref'd: it never keeps a process alive), one pass at a time;
 * a failed pass (database or engine away) is simply tried again at the next tick.
 */
export class PeriodicSweep {
  readonly #timer: NodeJS.Timeout;
  #running: Promise<unknown> | undefined;

  constructor(sweep: () => Promise<unknown>, intervalMs: number) {
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = sweep()
        .catch(() => {})
        .finally(() => (this.#running = undefined));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
