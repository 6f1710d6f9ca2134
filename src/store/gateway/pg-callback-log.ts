/**
 * The callback log (callback-log.ts) of the gateway store, in its PostgreSQL database: the fs
 * backend's model (sqlite-callback-log.ts) on a table every gateway shares. One row per upload
 * callback, its deliveries a jsonb array appended to in place by a redelivery; `seq` (an identity)
 * is the newest-first order and the paging marker.
 *
 * Unlike SQLite's rowid, identity values are not handed out in commit order across gateways: a
 * page may miss a row a slower gateway commits with a smaller `seq` meanwhile, which a dashboard
 * listing tolerates (it shows the row on the next look).
 *
 * Pruning by count reads the row count from `callback_log_count` (kept by triggers, pg-schema.ts
 * migration 4) and deletes the oldest `count - max` rows through the primary key, so it visits
 * only the rows it drops. Not by arithmetic on `seq`: identity values have gaps (a batch that
 * rolled back, an `ON CONFLICT DO NOTHING` insert, each spent one), so `max(seq) - max` would cut
 * into the newest entries. Not by counting down `max` rows with OFFSET: that walks 100 000 index
 * entries per prune in a full log.
 */
import type pg from 'pg';
import type {
  CallbackDelivery,
  CallbackLog,
  CallbackLogEntry,
  CallbackLogPage,
  CallbackLogQuery,
  CallbackLogRetention,
  LoggedCallbackRequest,
} from '../callback-log.ts';
import { query, transaction } from './pg-pool.ts';

interface Row {
  seq: number;
  request_id: string;
  bucket: string;
  key: string;
  operation: string;
  created_ms: number;
  request: Omit<LoggedCallbackRequest, 'body'>;
  body: Buffer;
  deliveries: StoredDelivery[];
}

/** A delivery as stored: the Date as epoch milliseconds. */
type StoredDelivery = Omit<CallbackDelivery, 'at'> & { at: number };

const COLUMNS = 'seq, request_id, bucket, key, operation, created_ms, request, body, deliveries';

export function openPgCallbackLog(pool: pg.Pool): CallbackLog {
  return {
    async record(writes) {
      if (writes.length === 0) return;
      await transaction(pool, async (client) => {
        for (const write of writes) {
          const delivery = JSON.stringify(storedDelivery(write.delivery));
          if (write.kind === 'redelivery') {
            await client.query(
              `UPDATE callback_log SET deliveries = deliveries || jsonb_build_array($1::jsonb), failed = $2
               WHERE request_id = $3`,
              [delivery, !write.delivery.ok, write.requestId],
            );
            continue;
          }
          const { entry } = write;
          await client.query(
            `INSERT INTO callback_log (request_id, bucket, key, operation, created_ms, failed, request, body, deliveries)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, jsonb_build_array($9::jsonb))
             ON CONFLICT (request_id) DO NOTHING`,
            [
              entry.requestId,
              entry.bucket,
              entry.key,
              entry.operation,
              write.delivery.at.getTime(),
              !write.delivery.ok,
              JSON.stringify(requestJson(entry.request)),
              entry.request.body,
              delivery,
            ],
          );
        }
      });
    },
    async get(requestId) {
      const { rows } = await query<Row>(pool, `SELECT ${COLUMNS} FROM callback_log WHERE request_id = $1`, [
        requestId,
      ]);
      return rows[0] === undefined ? undefined : toEntry(rows[0]);
    },
    async list(q: CallbackLogQuery): Promise<CallbackLogPage> {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (condition: (n: string) => string, value?: unknown): void => {
        if (value === undefined) return void where.push(condition(''));
        params.push(value);
        where.push(condition(`$${params.length}`));
      };
      if (q.failed === true) add(() => 'failed');
      if (q.bucket !== undefined) add((n) => `bucket = ${n}`, q.bucket);
      if (q.key !== undefined) add((n) => `key = ${n}`, q.key);
      if (q.since !== undefined) add((n) => `created_ms >= ${n}`, q.since.getTime());
      // A marker that is not a number continues from the start, as the SQLite log does.
      if (q.marker !== undefined) add((n) => `seq < ${n}`, Number(q.marker) || 0);
      params.push(q.limit + 1);
      const sql = `SELECT ${COLUMNS} FROM callback_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length}`;
      const { rows } = await query<Row>(pool, sql, params);
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        entries: page.map(toEntry),
        ...(rows.length > q.limit && last !== undefined && { nextMarker: String(last.seq) }),
      };
    },
    async prune(now, retention: CallbackLogRetention) {
      return transaction(pool, async (client) => {
        // The count row's lock makes prunes of all gateways take turns, so each reads the count
        // the last one left and none drops rows another already counted off. An insert's
        // trigger waits for it at most one prune long.
        const { rows } = await client.query<{ n: number }>('SELECT n FROM callback_log_count FOR UPDATE');
        const aged = await client.query('DELETE FROM callback_log WHERE created_ms < $1', [
          now.getTime() - retention.maxAgeMs,
        ]);
        const excess = (rows[0]?.n ?? 0) - (aged.rowCount ?? 0) - retention.maxEntries;
        if (excess <= 0) return aged.rowCount ?? 0;
        // The LIMIT is a value, not a subquery, so the plan is the primary key's first `excess`
        // entries (a subquery's LIMIT is planned as 10 % of the table: a sequential scan).
        const counted = await client.query(
          'DELETE FROM callback_log WHERE seq IN (SELECT seq FROM callback_log ORDER BY seq LIMIT $1)',
          [excess],
        );
        return (aged.rowCount ?? 0) + (counted.rowCount ?? 0);
      });
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
  return {
    requestId: row.request_id,
    bucket: row.bucket,
    key: row.key,
    operation: row.operation,
    createdAt: new Date(row.created_ms),
    request: { ...row.request, body: row.body },
    deliveries: row.deliveries.map((d) => ({ ...d, at: new Date(d.at) })),
  };
}
