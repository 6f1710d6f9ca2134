/**
 * HookJobQueue on SQLite through Kysely. Jobs are queued by the upload writer in the transaction
 * that stores their upload; this queue claims, completes, fails (with a retry time) and requeues
 * them. Invariant: a claim is one UPDATE, so two workers on one database never run the same job.
 */
import type { Kysely, Selectable } from 'kysely';
import type { HookJob, HookJobQueue, HookJobState } from './upload-repository.ts';
import type { HookJobsTable, ReceiverSchema } from './sqlite-receiver-schema.ts';

/** A `hook_jobs` row as the contract's HookJob (the same row shape on SQLite and PostgreSQL). */
export function toJob(row: Selectable<HookJobsTable>): HookJob {
  const job: HookJob = {
    id: row.id,
    uploadId: row.upload_id,
    hook: row.hook,
    state: row.state as HookJobState,
    attempts: row.attempts,
    nextRunAt: row.next_run_at,
    updatedAt: row.updated_at,
  };
  if (row.last_error !== null) job.lastError = row.last_error;
  return job;
}

export function createHookJobQueue(db: Kysely<ReceiverSchema>): HookJobQueue {
  return {
    async claim(now) {
      // One statement picks and marks the job, so two workers on one database cannot both run it.
      const row = await db
        .updateTable('hook_jobs')
        .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), updated_at: now }))
        .where(
          'id',
          '=',
          db
            .selectFrom('hook_jobs')
            .select('id')
            .where('state', '=', 'pending')
            .where('next_run_at', '<=', now)
            .orderBy('next_run_at')
            .orderBy('id')
            .limit(1),
        )
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },
    async complete(id, now) {
      await db
        .updateTable('hook_jobs')
        .set({ state: 'done', last_error: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    async fail(id, error, now, retryAt) {
      await db
        .updateTable('hook_jobs')
        .set({
          state: retryAt === undefined ? 'failed' : 'pending',
          last_error: error,
          updated_at: now,
          ...(retryAt === undefined ? {} : { next_run_at: retryAt }),
        })
        .where('id', '=', id)
        .execute();
    },
    async requeueRunning(now) {
      const result = await db
        .updateTable('hook_jobs')
        .set({ state: 'pending', next_run_at: now, updated_at: now })
        .where('state', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async countByState() {
      const rows = await db
        .selectFrom('hook_jobs')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('state')
        .execute();
      return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]));
    },
    async jobsFor(uploadId) {
      const rows = await db
        .selectFrom('hook_jobs')
        .selectAll()
        .where('upload_id', '=', uploadId)
        .orderBy('id')
        .execute();
      return rows.map(toJob);
    },
  };
}
