/**
 * User code that runs per upload, in two ways:
 * - `onUpload`: synchronous, before the reply, within `syncBudgetMs`; it may return the JSON
 *   reply. Past the budget the default reply is sent, because OSS gives up after 5 s
 *   (SPEC.md §4 "Timeout") and then reports 203 CallbackFailed to the uploader.
 * - `afterUpload`: named asynchronous hooks. One durable job per hook is stored with the record
 *   (same transaction), run after the reply by `hook-worker.ts`, retried with exponential
 *   backoff, and survive restarts. Names, not closures, are stored, so a restarted process finds
 *   the code again.
 */
import type { JsonValue } from 'upcall-verify';
import type { UploadRecord } from './upload-record.ts';

export interface SyncHookContext {
  /** Aborted when the budget runs out; the reply has then already been decided without the hook. */
  signal: AbortSignal;
}

export interface AsyncHookContext {
  /** 1 on the first run. */
  attempt: number;
  /** Aborted when the job exceeds `jobTimeoutMs`. */
  signal: AbortSignal;
  /**
   * The same on every run of this hook for this upload, on any receiver instance: a hook runs at
   * least once, so one whose effect must happen once deduplicates by it (e.g. an
   * `Idempotency-Key` header, as `--forward-to` sends).
   */
  idempotencyKey: string;
}

export type SyncUploadHook = (
  record: UploadRecord,
  context: SyncHookContext,
) => JsonValue | undefined | Promise<JsonValue | undefined>;

export type AsyncUploadHook = (record: UploadRecord, context: AsyncHookContext) => void | Promise<void>;

export interface RetryPolicy {
  /** Runs in total before a job is marked failed. Default 8. */
  maxAttempts?: number;
  /** Delay before the 2nd run; doubles each time. Default 1000 ms. */
  baseDelayMs?: number;
  /** Cap on the delay. Default 5 minutes. */
  maxDelayMs?: number;
}

export interface UploadHooks {
  /** Runs before the reply; a returned value replaces the reply JSON. A throw answers 500. */
  onUpload?: SyncUploadHook;
  /** Default 2000 ms, well inside OSS's 5 s callback deadline. */
  syncBudgetMs?: number;
  afterUpload?: Readonly<Record<string, AsyncUploadHook>>;
  retry?: RetryPolicy;
  /** Per async job. Default 60 s. */
  jobTimeoutMs?: number;
  /** How often the worker looks for due retries. Default 1000 ms. */
  pollIntervalMs?: number;
}

export type SyncHookOutcome = { kind: 'reply'; value: JsonValue } | { kind: 'default' } | { kind: 'timeout' };

/** Runs `onUpload` within the budget. @throws whatever the hook throws */
export async function runSyncHook(
  hook: SyncUploadHook,
  record: UploadRecord,
  budgetMs: number,
): Promise<SyncHookOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SyncHookOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`onUpload exceeded its ${budgetMs} ms budget`));
      resolve({ kind: 'timeout' });
    }, budgetMs);
  });
  const run = (async (): Promise<SyncHookOutcome> => {
    const value = await hook(record, { signal: controller.signal });
    return value === undefined ? { kind: 'default' } : { kind: 'reply', value };
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
    run.catch(() => undefined); // a hook that fails after its budget has no one left to tell
  }
}

export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  const base = policy.baseDelayMs ?? 1000;
  const max = policy.maxDelayMs ?? 5 * 60_000;
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}
