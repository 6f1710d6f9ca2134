/**
 * Runs the durable async hook jobs (`afterUpload`) one at a time, after replies are sent.
 * Invariant: a job is `done` only after its hook resolved; any failure (throw, timeout, hook no
 * longer registered) schedules a retry with exponential backoff until `maxAttempts`, then `failed`.
 * On start, jobs a dead process left `running` are requeued (at-least-once delivery).
 */
import type { UploadRepository, HookJobQueue, HookJob } from './upload-repository.ts';
import { retryDelayMs, type AsyncUploadHook, type RetryPolicy } from './upload-hooks.ts';
import type { UploadRecord } from './upload-record.ts';

export interface HookWorkerOptions {
  uploads: UploadRepository;
  queue: HookJobQueue;
  hooks: Readonly<Record<string, AsyncUploadHook>>;
  retry: RetryPolicy;
  jobTimeoutMs: number;
  pollIntervalMs: number;
  now: () => number;
  onJobError?: (job: HookJob, error: unknown) => void;
  /** A queue (database) error outside any one job; the next poll tries again. */
  onQueueError?: (error: unknown) => void;
}

export interface HookWorker {
  /** Looks for due jobs now (called after each reply). */
  kick(): void;
  /** Stops polling and waits for the running job. */
  close(): Promise<void>;
}

/** A hook runner's options as createReceiver has them; a store adds its own queue (and database). */
export type StoreHookRunnerOptions = Omit<HookWorkerOptions, 'queue'> & { maxAttempts: number };

/** What running one claimed job needs; shared by this worker and the PostgreSQL one (pg-hook-runner.ts). */
export interface HookJobRunOptions {
  uploads: UploadRepository;
  queue: Pick<HookJobQueue, 'complete' | 'fail'>;
  hooks: Readonly<Record<string, AsyncUploadHook>>;
  retry: RetryPolicy;
  maxAttempts: number;
  jobTimeoutMs: number;
  now: () => number;
  onJobError?: (job: HookJob, error: unknown) => void;
}

/**
 * The key a hook's handler can deduplicate its effects by (it may run more than once: at least
 * once is the guarantee). The same upload event gives the same key whichever instance or attempt
 * runs it: the OSS request id when the callback had one (unique per upload), else the record id.
 */
export function hookIdempotencyKey(record: UploadRecord, hook: string): string {
  return `${record.requestId ?? `upload-${record.id}`}/${hook}`;
}

/**
 * Runs one claimed job: its hook within `jobTimeoutMs`, then `complete`, or `fail` with a retry
 * time from the backoff policy (none once `maxAttempts` runs are spent).
 * @throws only what `queue.complete`/`queue.fail` throw (a database error)
 */
export async function runHookJob(job: HookJob, options: HookJobRunOptions): Promise<void> {
  try {
    const hook = options.hooks[job.hook];
    if (hook === undefined) throw new Error(`No afterUpload hook named "${job.hook}" is registered.`);
    const record = await options.uploads.get(job.uploadId);
    if (record === undefined) throw new Error(`Upload ${job.uploadId} no longer exists.`);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`Hook "${job.hook}" exceeded ${options.jobTimeoutMs} ms.`);
        controller.abort(error);
        reject(error);
      }, options.jobTimeoutMs);
    });
    try {
      await Promise.race([
        hook(record, {
          attempt: job.attempts,
          signal: controller.signal,
          idempotencyKey: hookIdempotencyKey(record, job.hook),
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
    await options.queue.complete(job.id, options.now());
  } catch (error) {
    options.onJobError?.(job, error);
    const now = options.now();
    const retryAt =
      job.attempts >= options.maxAttempts ? undefined : now + retryDelayMs(job.attempts, options.retry);
    const message = error instanceof Error ? error.message : String(error);
    await options.queue.fail(job.id, message, now, retryAt);
  }
}

/** Runs of a job before it is marked failed, unless RetryPolicy.maxAttempts says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 8;

export async function startHookWorker(options: HookWorkerOptions): Promise<HookWorker> {
  const maxAttempts = options.retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  await options.queue.requeueRunning(options.now());
  let closed = false;
  let draining: Promise<void> | undefined;
  let again = false;

  const runJob = (job: HookJob): Promise<void> => runHookJob(job, { ...options, maxAttempts });

  async function drain(): Promise<void> {
    do {
      again = false;
      for (;;) {
        if (closed) return;
        const job = await options.queue.claim(options.now());
        if (job === undefined) break;
        await runJob(job);
      }
    } while (again && !closed);
  }

  function kick(): void {
    if (closed) return;
    if (draining) {
      again = true;
      return;
    }
    draining = drain()
      .catch((error: unknown) => {
        // A database error: leave the jobs where they are; the next poll tries again.
        options.onQueueError?.(error);
      })
      .finally(() => {
        draining = undefined;
      });
  }

  const poll = setInterval(kick, options.pollIntervalMs);
  poll.unref();
  kick();

  return {
    kick,
    async close() {
      closed = true;
      clearInterval(poll);
      await draining;
    },
  };
}
