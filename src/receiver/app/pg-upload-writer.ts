/**
 * The callback path's writes on PostgreSQL: one transaction per upload that inserts the record,
 * its `x:` vars and its hook jobs, and enqueues each job for graphile-worker with
 * `SELECT graphile_worker.add_job(…)` in that same transaction, so an upload never lacks its
 * jobs and a rolled-back record never runs one (issue 17). Fixed statements in plain `pg`
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
  const insertUpload = `insert into "uploads" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map((_c, i) => `$${i + 1}`).join(', ')}) returning "id"`;
  const insertVars =
    'insert into "upload_vars" ("upload_id", "name", "value") select $1, unnest($2::text[]), unnest($3::text[])';
  // The jobs rows (what the API shows) and their graphile-worker jobs (what runs them), together.
  const insertJobs =
    'with "jobs" as (insert into "hook_jobs" ("upload_id", "hook", "state", "attempts", "next_run_at", "last_error", "updated_at") ' +
    'select $1, unnest($2::text[]), \'pending\', 0, $3, null, $3 returning "id") ' +
    `select graphile_worker.add_job('${HOOK_TASK}', json_build_object('jobId', "id")) from "jobs"`;
  return {
    async insert({ row, vars, hookNames, receivedAt }) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const inserted = await client.query<{ id: number }>({
          name: 'upcall_insert_upload',
          text: insertUpload,
          values: columns.map((c) => row[c]),
        });
        const id = inserted.rows[0]!.id;
        const names = Object.keys(vars);
        if (names.length > 0) {
          await client.query({
            name: 'upcall_insert_vars',
            text: insertVars,
            values: [id, names, Object.values(vars)],
          });
        }
        if (hookNames.length > 0) {
          await client.query({
            name: 'upcall_insert_jobs',
            text: insertJobs,
            values: [id, hookNames, receivedAt],
          });
        }
        await client.query('commit');
        return id;
      } catch (error) {
        // A broken connection cannot roll back; the server drops its transaction with it.
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
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
