/**
 * HookJobQueue on PostgreSQL. The `hook_jobs` rows keep each job's state for the API, the
 * dashboard and the metrics, as on SQLite; graphile-worker delivers them (pg-hook-runner.ts): a
 * retry is a new graphile-worker job at the retry time, enqueued in the transaction that records
 * the failure.
 *
 * Invariant: `claim` locks the row it picks with `FOR UPDATE SKIP LOCKED`, so two instances never
 * take one job, and a claimer does not come back empty while another job is due (measured: without
 * it the loser of a race gets nothing; ../shared/services/README.md).
 */
import { sql, type Kysely } from 'kysely';
import type { HookJob, HookJobQueue } from './upload-repository.ts';
import type { ReceiverSchema } from './sqlite-receiver-schema.ts';
import { HOOK_TASK } from './pg-upload-writer.ts';
import { createHookJobQueue, toJob } from './sqlite-hook-job-queue.ts';

export interface PgHookJobQueue extends HookJobQueue {
  /**
   * Marks the job `running` (attempts + 1) for the graphile-worker job that names it; undefined
   * when it is done or failed already (a second delivery of the same job: nothing to run). A
   * `running` job is taken again: its runner died (pg-hook-runner.ts unlocked it).
   */
  claimById(id: number, now: number): Promise<HookJob | undefined>;
}

export function createPgHookJobQueue(db: Kysely<ReceiverSchema>): PgHookJobQueue {
  // complete, countByState and jobsFor are the same Kysely queries as on SQLite.
  const same = createHookJobQueue(db);
  return {
    ...same,
    async claim(now) {
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
            .limit(1)
            .forUpdate()
            .skipLocked(),
        )
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },
    async claimById(id, now) {
      const row = await db
        .updateTable('hook_jobs')
        .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', '=', id)
        .where('state', 'in', ['pending', 'running'])
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },
    async fail(id, error, now, retryAt) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('hook_jobs')
          .set({
            state: retryAt === undefined ? 'failed' : 'pending',
            last_error: error,
            updated_at: now,
            ...(retryAt === undefined ? {} : { next_run_at: retryAt }),
          })
          .where('id', '=', id)
          .execute();
        if (retryAt !== undefined) {
          await sql`select graphile_worker.add_job(${HOOK_TASK}, json_build_object('jobId', ${id}::bigint), run_at => to_timestamp(${retryAt}::bigint / 1000.0))`.execute(
            trx,
          );
        }
      });
    },
    // Nothing to do at start: N instances share the jobs, and a live one's `running` job is not
    // this process's to take. A dead one's jobs come back through graphile-worker (pg-hook-runner.ts).
    requeueRunning: () => Promise.resolve(0),
  };
}
