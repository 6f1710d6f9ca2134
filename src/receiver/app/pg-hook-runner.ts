/**
 * Runs the receiver's hook jobs on PostgreSQL with graphile-worker 0.17: jobs are picked up through
 * LISTEN/NOTIFY the moment their upload commits. Chosen over pg-boss 10 by measurement
 * (../shared/services/README.md "PostgreSQL and job queues"): graphile-worker add_job → task in
 * 3.0 ms median and 918 jobs/s; pg-boss polls, ≥ 0.5 s per pick-up at its minimum interval (2 s by
 * default) and 100 jobs/s. Both enqueue inside the caller's transaction; 0.17 is the last line
 * that runs on Node 20.
 *
 * At least once, across instances: graphile-worker locks a job to the worker pool that took it
 * (`locked_by` = the pool's random id) and releases a dead pool's jobs only after 4 hours. So each
 * instance keeps a connection whose `application_name` is its pool's id open while it lives; every
 * instance sweeps now and then for hook jobs locked by an id no live connection carries (a
 * receiver killed with -9, a machine gone) and unlocks them, so another instance, or a restart,
 * runs them again. Other apps' graphile-worker jobs in the same database are left alone (the
 * sweep looks at this task's jobs only).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger, run, type Runner, type RunnerOptions, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import { runHookJob, type HookJobRunOptions, type HookWorker } from './hook-worker.ts';
import type { PgHookJobQueue } from './pg-hook-job-queue.ts';
import { HOOK_TASK } from './pg-upload-writer.ts';

export interface PgHookRunnerOptions extends Omit<HookJobRunOptions, 'queue'> {
  connectionString: string;
  queue: PgHookJobQueue;
  /** How often graphile-worker looks for jobs due later (retries); pick-up of new ones is by NOTIFY. */
  pollIntervalMs: number;
  /** How often to look for jobs held by dead instances. Default 5000 ms. */
  sweepIntervalMs?: number;
  /** A database error outside any one job (a lost connection, a failed sweep). */
  onQueueError?: (error: unknown) => void;
}

/** Unlocks hook jobs whose worker pool has no connection left: its process is gone. */
const SWEEP = `select graphile_worker.force_unlock_workers(coalesce(array_agg(distinct j.locked_by), '{}'))
  from graphile_worker._private_jobs j
  join graphile_worker._private_tasks t on t.id = j.task_id
  where t.identifier = '${HOOK_TASK}' and j.locked_by is not null
    and not exists (select 1 from pg_stat_activity a where a.application_name = j.locked_by)`;

export async function startPgHookRunner(options: PgHookRunnerOptions): Promise<HookWorker> {
  // Until graphile-worker names its pool, the liveness connection carries a placeholder.
  let poolId = `upcall-receiver-${randomBytes(8).toString('hex')}`;
  const report = (error: unknown): void => options.onQueueError?.(error);
  let closed = false;

  // The liveness connection: open as long as this process is, reopened after a database restart.
  let liveness: pg.Client | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  const connectLiveness = async (): Promise<void> => {
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: poolId,
      connectionTimeoutMillis: 2000,
    });
    client.on('error', (error) => {
      report(error);
      liveness = undefined;
      if (!closed) reconnect ??= setTimeout(retryLiveness, 1000);
    });
    await client.connect();
    liveness = client;
  };
  const retryLiveness = (): void => {
    reconnect = undefined;
    if (closed || liveness !== undefined) return;
    connectLiveness().catch((error: unknown) => {
      report(error);
      if (!closed) reconnect ??= setTimeout(retryLiveness, 1000);
    });
  };
  await connectLiveness();

  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: 3,
    connectionTimeoutMillis: 2000,
  });
  // An idle connection cut by a database restart must not take the process down.
  pool.on('error', report);
  pool.on('connect', (client) => client.on('error', report));
  const sweep = (): void => {
    pool.query(SWEEP).catch(report);
  };

  const logger = new Logger(() => (level, message) => {
    if (String(level) === 'error') report(new Error(`graphile-worker: ${message}`));
  });
  const events = new EventEmitter() as WorkerEvents;
  // Emitted before the pool's workers start, so its jobs are rarely locked before the name is
  // live (and if one is swept in that instant it runs twice: at least once, never lost).
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
    liveness?.query(`select set_config('application_name', $1, false)`, [poolId]).catch(report);
  });
  let runner: Runner;
  try {
    const runnerOptions: RunnerOptions = {
      pgPool: pool,
      concurrency: 1,
      events,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs,
      logger,
      taskList: {
        [HOOK_TASK]: async (payload) => {
          const { jobId } = payload as { jobId: number | string };
          const job = await options.queue.claimById(Number(jobId), options.now());
          if (job === undefined) return; // done or failed already: a duplicate delivery
          await runHookJob(job, options);
        },
      },
    };
    runner = await run(runnerOptions);
  } catch (error) {
    closed = true;
    await liveness?.end().catch(() => undefined);
    await pool.end();
    throw error;
  }
  runner.promise.catch(report);
  sweep();
  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 5000);
  sweeper.unref();

  return {
    // New jobs arrive by NOTIFY: nothing to kick.
    kick() {},
    async close() {
      closed = true;
      clearInterval(sweeper);
      clearTimeout(reconnect);
      await runner.stop();
      await pool.end();
      await liveness?.end().catch(() => undefined);
    },
  };
}
