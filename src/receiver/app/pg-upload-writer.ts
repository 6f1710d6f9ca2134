/**
 * The callback path's writes on PostgreSQL: one statement per upload (a data-modifying CTE, so
 * one transaction and one round trip) that inserts the record, its `x:` vars and its hook jobs,
 * and enqueues each job for graphile-worker with `graphile_worker.add_job(…)` in that same
 * transaction, so an upload never lacks its jobs and a rolled-back record never runs one
 * (issue 17). Fixed statements in plain `pg`
 * (named, so each connection prepares them once), as the SQLite writer is plain better-sqlite3.
 *
 * Invariant: a write resolves only after COMMIT returned; a second verified record of one
 * (request id, signature) fails here with SQLSTATE 23505, whichever instance wrote the first.
 */
import type pg from 'pg';
import type { UploadWriter } from './upload-writer.ts';

/** graphile-worker's task name for a hook job; its payload is `{ jobId }` (a hook_jobs row). */
export const HOOK_TASK = 'upcall_hook';

export function createPgUploadWriter(pool: pg.Pool, columns: readonly string[]): UploadWriter {
  const n = columns.length;
  // One statement, so one round trip and atomic without BEGIN/COMMIT: the record, its vars, its
  // jobs rows (what the API shows) and their graphile-worker jobs (what runs them). Foreign keys
  // are checked at the end of the statement, when the upload row exists.
  const insertUpload =
    `with "u" as (insert into "uploads" (${columns.map((c) => `"${c}"`).join(', ')}) ` +
    `values (${columns.map((_c, i) => `$${i + 1}`).join(', ')}) returning "id"), ` +
    `"v" as (insert into "upload_vars" ("upload_id", "name", "value") select "u"."id", "x"."name", "x"."value" ` +
    `from "u", unnest($${n + 1}::text[], $${n + 2}::text[]) as "x"("name", "value")), ` +
    `"j" as (insert into "hook_jobs" ("upload_id", "hook", "state", "attempts", "next_run_at", "last_error", "updated_at") ` +
    `select "u"."id", "h", 'pending', 0, $${n + 4}, null, $${n + 4} from "u", unnest($${n + 3}::text[]) as "h" returning "id") ` +
    `select (select "id" from "u") as "id", ` +
    `(select count(graphile_worker.add_job('${HOOK_TASK}', json_build_object('jobId', "j"."id"))) from "j") as "jobs"`;
  return {
    async insert({ row, vars, hookNames, receivedAt }) {
      const inserted = await pool.query<{ id: number }>({
        name: 'upcall_insert_upload',
        text: insertUpload,
        values: [
          ...columns.map((c) => row[c]),
          Object.keys(vars),
          Object.values(vars),
          hookNames,
          receivedAt,
        ],
      });
      return inserted.rows[0]!.id;
    },
    async setReply(id, replyJson, latencyMs) {
      await pool.query({
        name: 'upcall_set_reply',
        text: 'update "uploads" set "reply_json" = $1, "latency_ms" = $2 where "id" = $3',
        values: [replyJson, latencyMs, id],
      });
    },
    async pruneRefused(keep) {
      await pool.query(
        'delete from "uploads" where "verified" = 0 and "id" < (' +
          'select "id" from "uploads" where "verified" = 0 order by "id" desc limit 1 offset $1)',
        [Math.max(keep - 1, 0)],
      );
    },
    flush() {},
  };
}
