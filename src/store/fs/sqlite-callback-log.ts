/**
 * The callback log of the fs backend (callback-log.ts), in the store's own SQLite meta-db: one row
 * per upload callback, its deliveries as a JSON array (appended to in place by a redelivery).
 *
 * Its own migration step: the table and its indexes are created at open when missing, so a data
 * dir from before the log existed upgrades in place and nothing else in it changes. Append only:
 * never change or drop a column here; add one the way meta-db.ts's ADDED_COLUMNS does.
 *
 * Cheap to write, since every upload with a callback inserts a row (bench: "log on / log off"):
 * `seq` is the rowid (no AUTOINCREMENT bookkeeping), the only indexes are the request id's and a
 * partial one over failed rows (a successful callback, the usual case, adds nothing to it), and
 * there is no index on time: rows are in creation order by `seq`, so pruning by age walks from
 * the oldest, and `since` filters a scan by `seq`. `seq` is the paging marker; pruning drops the
 * oldest rows, so a number is reused only after the whole log was pruned away.
 *
 * Pruning by count never counts the log: the number of rows is counted once at open and then
 * kept beside the connection, changed by exactly what each committed insert and delete changed.
 * This process is the only writer (the data-dir lock), so that number is exact, and it costs no
 * write per batch (a counter row would add a page to every batch's WAL append, which is what the
 * log's cost on the upload path is made of). The prune then deletes the oldest `count - max`
 * rows through the rowid, reading only those. Not by arithmetic on `seq` (`max(seq) - max`):
 * `seq` may have gaps (rows deleted from the middle by hand, or a log restored from elsewhere),
 * and the cut must not depend on it. Counting down `max` rows with OFFSET at every prune took
 * 25-39 ms on the event loop past 40 000 entries (bench/findings.md).
 */
import type Database from 'better-sqlite3';
import type {
  CallbackDelivery,
  CallbackLog,
  CallbackLogEntry,
  CallbackLogPage,
  CallbackLogQuery,
  CallbackLogRetention,
  CallbackLogWrite,
  LoggedCallbackRequest,
} from '../callback-log.ts';

const MIGRATION = `
CREATE TABLE IF NOT EXISTS callback_log (
  seq INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  operation TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  request TEXT NOT NULL,
  body BLOB NOT NULL,
  deliveries TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS callback_log_failed ON callback_log (seq) WHERE failed = 1;
`;

interface Row {
  seq: number;
  request_id: string;
  bucket: string;
  key: string;
  operation: string;
  created_ms: number;
  failed: number;
  request: string;
  body: Buffer;
  deliveries: string;
}

/** A delivery as stored: the Date as epoch milliseconds. */
type StoredDelivery = Omit<CallbackDelivery, 'at'> & { at: number };

const COLUMNS = 'seq, request_id, bucket, key, operation, created_ms, failed, request, body, deliveries';

export function openSqliteCallbackLog(db: Database.Database): CallbackLog {
  db.exec(MIGRATION);
  const insert = db.prepare<[string, string, string, string, number, number, string, Buffer, string]>(
    `INSERT OR IGNORE INTO callback_log (request_id, bucket, key, operation, created_ms, failed, request, body, deliveries)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const append = db.prepare<[string, number, string]>(
    `UPDATE callback_log SET deliveries = json_insert(deliveries, '$[#]', json(?)), failed = ? WHERE request_id = ?`,
  );
  const byRequestId = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM callback_log WHERE request_id = ?`);
  // The first row young enough to keep, walking from the oldest: pruned every minute, so the
  // walk passes few rows. Everything before it goes.
  const pruneAge = db.prepare<[number]>(
    `DELETE FROM callback_log WHERE seq < coalesce(
       (SELECT seq FROM callback_log WHERE created_ms >= ? ORDER BY seq LIMIT 1),
       (SELECT max(seq) + 1 FROM callback_log))`,
  );
  // The oldest `excess` rows: a walk of `excess` rowids from the start of the table.
  const pruneOldest = db.prepare<[number]>(
    `DELETE FROM callback_log WHERE seq <= (SELECT seq FROM callback_log ORDER BY seq LIMIT 1 OFFSET ? - 1)`,
  );
  /** The rows the table holds, as of the last commit (see the header). */
  let entries = (db.prepare('SELECT count(*) AS n FROM callback_log').get() as { n: number }).n;
  /** Returns how many rows it inserted: a duplicate request id inserts none. */
  const recordAll = db.transaction((writes: readonly CallbackLogWrite[]): number => {
    let inserted = 0;
    for (const write of writes) {
      const failed = write.delivery.ok ? 0 : 1;
      const delivery = JSON.stringify(storedDelivery(write.delivery));
      if (write.kind === 'redelivery') {
        append.run(delivery, failed, write.requestId);
        continue;
      }
      const { entry } = write;
      inserted += insert.run(
        entry.requestId,
        entry.bucket,
        entry.key,
        entry.operation,
        write.delivery.at.getTime(),
        failed,
        JSON.stringify(requestJson(entry.request)),
        entry.request.body,
        `[${delivery}]`,
      ).changes;
    }
    return inserted;
  });
  const pruneAll = db.transaction((now: Date, retention: CallbackLogRetention): number => {
    const aged = pruneAge.run(now.getTime() - retention.maxAgeMs).changes;
    const excess = entries - aged - retention.maxEntries;
    return aged + (excess > 0 ? pruneOldest.run(excess).changes : 0);
  });

  return {
    record(writes) {
      // Counted only once committed: a transaction that throws changed nothing.
      entries += recordAll(writes);
      return Promise.resolve();
    },
    get(requestId) {
      const row = byRequestId.get(requestId);
      return Promise.resolve(row === undefined ? undefined : toEntry(row));
    },
    list(query: CallbackLogQuery): Promise<CallbackLogPage> {
      const where: string[] = [];
      const params: (string | number)[] = [];
      const add = (condition: string, ...values: (string | number)[]): void => {
        where.push(condition);
        params.push(...values);
      };
      if (query.failed === true) add('failed = 1');
      if (query.bucket !== undefined) add('bucket = ?', query.bucket);
      if (query.key !== undefined) add('key = ?', query.key);
      if (query.since !== undefined) add('created_ms >= ?', query.since.getTime());
      if (query.marker !== undefined) add('seq < ?', Number(query.marker) || 0);
      const sql = `SELECT ${COLUMNS} FROM callback_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT ?`;
      const rows = db.prepare<(string | number)[], Row>(sql).all(...params, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return Promise.resolve({
        entries: page.map(toEntry),
        ...(rows.length > query.limit && last !== undefined && { nextMarker: String(last.seq) }),
      });
    },
    prune(now, retention) {
      const dropped = pruneAll(now, retention);
      entries -= dropped;
      return Promise.resolve(dropped);
    },
  };
}

function storedDelivery(delivery: CallbackDelivery): StoredDelivery {
  return { ...delivery, at: delivery.at.getTime() };
}

function requestJson(request: LoggedCallbackRequest): Omit<LoggedCallbackRequest, 'body'> {
  const { body: _body, ...rest } = request;
  return rest;
}

function toEntry(row: Row): CallbackLogEntry {
  const request = JSON.parse(row.request) as Omit<LoggedCallbackRequest, 'body'>;
  const deliveries = (JSON.parse(row.deliveries) as StoredDelivery[]).map((d) => ({
    ...d,
    at: new Date(d.at),
  }));
  return {
    requestId: row.request_id,
    bucket: row.bucket,
    key: row.key,
    operation: row.operation,
    createdAt: new Date(row.created_ms),
    request: { ...request, body: row.body },
    deliveries,
  };
}
