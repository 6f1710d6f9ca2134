/**
 * Records every upload callback the server attempts in the store's callback log
 * (store/callback-log.ts), redelivers logged ones, and prunes the log to its retention (issue 18).
 *
 * It wraps the dispatcher, so the one place a callback's outcome is known (`send`) is the one
 * place it is recorded, whichever operation sent it. The write is kept off the upload's critical
 * path: `send` resolves with the outcome at once and the entry is queued; queued entries commit
 * together, in one transaction, FLUSH_DELAY_MS after the first of them (or at FLUSH_BATCH), long
 * after the replies have been written. A commit per upload cost more than the insert itself
 * (bench/RESULTS.md, "log on / log off"); the price is that a crash loses the log entries of the
 * last FLUSH_DELAY_MS. A failing write is logged and dropped: the log never fails an upload.
 *
 * Invariant: each delivery (the upload's own, each redelivery) is recorded exactly once, and an
 * entry is failed exactly when its latest delivery failed.
 */
import type { Logger } from 'pino';
import type {
  CallbackDelivery,
  CallbackLog,
  CallbackLogEntry,
  CallbackLogRetention,
  CallbackLogWrite,
} from '../../store/callback-log.ts';
import type {
  CallbackDispatcher,
  CallbackOutcome,
  PreparedCallback,
} from '../callback/callback-dispatcher.ts';

/** A week and 100 000 entries (the `--callback-log-max-age` / `--callback-log-max-entries` defaults). */
export const DEFAULT_CALLBACK_LOG_RETENTION: CallbackLogRetention = {
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
  maxEntries: 100_000,
};
/** How much of an app server's reply is kept: enough to read it, never a second copy of 1 MiB. */
export const LOGGED_REPLY_BYTES = 16 * 1024;
/**
 * The background prune runs this often (for the age bound when no callbacks come), and after
 * every batch that committed: pruning reads only the rows it drops on every backend, so the
 * count bound holds after each commit rather than within a threshold of new entries (pruning
 * every 1000 entries, or every `maxEntries` when fewer, let `--callback-log-max-entries 2` keep
 * three until the next minute when a batch of one followed a prune).
 */
const PRUNE_INTERVAL_MS = 60_000;
/** Entries wait at most this long, and at most this many, before they commit together. */
const FLUSH_DELAY_MS = 50;
const FLUSH_BATCH = 512;
/** Failed callbacks redelivered at once by a redeliver-all. */
const REDELIVERY_CONCURRENCY = 4;

export interface RedeliveryResult {
  requestId: string;
  ok: boolean;
  /** The OSS message of the failure, '' on success. */
  message: string;
  /** The app server's reply (UTF-8) when it succeeded. */
  reply?: string;
}

export interface CallbackLogRecorder {
  /** The dispatcher to send through: the wrapped one, recording every send. */
  readonly dispatcher: CallbackDispatcher;
  readonly log: CallbackLog;
  /** Sends a logged callback again and records the result. Undefined when the log has no such request id. */
  redeliver(requestId: string): Promise<RedeliveryResult | undefined>;
  /** Redelivers every callback whose latest delivery failed (created before this call). */
  redeliverFailed(): Promise<RedeliveryResult[]>;
  /** Writes what is queued now (tests, shutdown). */
  flush(): Promise<void>;
  /** Stops the prune timer and writes what is queued. The dispatcher is the caller's to close. */
  close(): Promise<void>;
}

export interface CallbackLogRecorderOptions {
  log: CallbackLog;
  dispatcher: CallbackDispatcher;
  retention?: CallbackLogRetention | undefined;
  now: () => Date;
  logger: Logger;
}

export function createCallbackLogRecorder(options: CallbackLogRecorderOptions): CallbackLogRecorder {
  const { log, logger, now } = options;
  const inner = options.dispatcher;
  const retention = options.retention ?? DEFAULT_CALLBACK_LOG_RETENTION;
  let queue: CallbackLogWrite[] = [];
  /** Settles once the queued entries are committed (or dropped); undefined when none are queued. */
  let committed: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | undefined;
  let pruning: Promise<void> | undefined;
  /** A commit came while a prune ran, which may have counted the rows before it. */
  let pruneAgain = false;
  let closed = false;

  const write = async (writes: CallbackLogWrite[]): Promise<void> => {
    try {
      await log.record(writes);
    } catch (error) {
      logger.warn({ err: error, entries: writes.length }, 'callback log write failed; entries dropped');
    }
  };
  /** Commits what is queued now. */
  const flush = async (): Promise<void> => {
    const writes = queue;
    const batch = committed;
    queue = [];
    committed = undefined;
    if (batch !== undefined) clearTimeout(batch.timer);
    if (writes.length > 0) {
      await write(writes);
      void prune();
    }
    batch?.resolve();
  };
  const prune = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (pruning !== undefined) {
      pruneAgain = true;
      return pruning;
    }
    pruning = log
      .prune(now(), retention)
      .then(
        (dropped) => {
          if (dropped > 0) logger.debug({ dropped }, 'callback log pruned');
        },
        (error: unknown) => logger.warn({ err: error }, 'callback log prune failed'),
      )
      .finally(() => {
        pruning = undefined;
        if (pruneAgain) {
          pruneAgain = false;
          void prune();
        }
      });
    return pruning;
  };
  const enqueue = (entry: CallbackLogWrite): void => {
    queue.push(entry);
    if (committed === undefined) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((settle) => (resolve = settle));
      committed = { promise, resolve, timer: setTimeout(() => void flush(), FLUSH_DELAY_MS) };
    }
    if (queue.length >= FLUSH_BATCH) void flush();
  };
  const pruneTimer = setInterval(() => void prune(), PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  const dispatcher: CallbackDispatcher = {
    prepare: (spec, facts, context) => inner.prepare(spec, facts, context),
    prepareRedelivery: (callback) => inner.prepareRedelivery(callback),
    async send(prepared) {
      const outcome = await inner.send(prepared);
      enqueue(firstWrite(prepared, outcome, now()));
      return outcome;
    },
    dispatch(spec, facts, context) {
      return dispatcher.send(inner.prepare(spec, facts, context));
    },
    close: () => inner.close(),
  };

  async function redeliverEntry(entry: CallbackLogEntry): Promise<RedeliveryResult> {
    const prepared = inner.prepareRedelivery({
      requestId: entry.requestId,
      bucket: entry.bucket,
      key: entry.key,
      operation: entry.operation,
      urls: entry.request.urls,
      host: entry.request.host,
      bodyType: entry.request.bodyType,
      sni: entry.request.sni,
      requester: entry.request.requester,
      body: entry.request.body,
    });
    const outcome = await inner.send(prepared);
    const delivery = deliveryOf(outcome, now(), true);
    // Awaited, unlike an upload's: the operator asked, and the next list must show it.
    await flush();
    await write([{ kind: 'redelivery', requestId: entry.requestId, delivery }]);
    return {
      requestId: entry.requestId,
      ok: delivery.ok,
      message: delivery.message,
      ...(delivery.reply !== undefined && { reply: delivery.reply }),
    };
  }

  return {
    dispatcher,
    log,
    async redeliver(requestId) {
      await flush();
      const entry = await log.get(requestId);
      return entry === undefined ? undefined : redeliverEntry(entry);
    },
    async redeliverFailed() {
      await flush();
      // Collect first, then send: a redelivery changes which entries are failed, and paging over
      // a set that changes under the marker could skip or repeat some.
      const failed: CallbackLogEntry[] = [];
      let marker: string | undefined;
      do {
        const page = await log.list({ failed: true, limit: 1000, ...(marker !== undefined && { marker }) });
        failed.push(...page.entries);
        marker = page.nextMarker;
      } while (marker !== undefined);
      failed.reverse(); // oldest first, as they happened
      const results: RedeliveryResult[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < failed.length) {
          const entry = failed[next++] as CallbackLogEntry;
          results.push(await redeliverEntry(entry));
        }
      };
      await Promise.all(Array.from({ length: Math.min(REDELIVERY_CONCURRENCY, failed.length) }, worker));
      return results;
    },
    flush,
    async close() {
      clearInterval(pruneTimer);
      await flush();
      // The prune of the last batch, and one that a commit during it asked for; none after.
      while (pruning !== undefined) await pruning;
      closed = true;
    },
  };
}

function firstWrite(prepared: PreparedCallback, outcome: CallbackOutcome, at: Date): CallbackLogWrite {
  const { origin } = prepared;
  return {
    kind: 'first',
    entry: {
      requestId: origin.requestId,
      bucket: origin.bucket,
      key: origin.key,
      operation: origin.operation,
      request: {
        urls: prepared.requests.map((request) => request.url.href),
        ...(origin.host !== undefined && { host: origin.host }),
        bodyType: origin.bodyType,
        sni: origin.sni,
        ...(origin.requester !== undefined && { requester: origin.requester }),
        body: prepared.requests[0]?.body ?? Buffer.alloc(0),
      },
    },
    delivery: deliveryOf(outcome, at, false),
  };
}

function deliveryOf(outcome: CallbackOutcome, at: Date, redelivery: boolean): CallbackDelivery {
  const delivery: CallbackDelivery = {
    at,
    ok: outcome.ok,
    message: outcome.ok ? '' : outcome.error.message,
    latencyMs: outcome.latencyMs,
    attempts: outcome.attempts.map((attempt) => ({
      url: attempt.url.href,
      ok: attempt.ok,
      message: attempt.message,
      latencyMs: attempt.latencyMs,
    })),
    redelivery,
  };
  if (outcome.ok) {
    // A cut may fall inside a multi-byte character; the decoder then ends it with U+FFFD.
    delivery.reply = outcome.body.subarray(0, LOGGED_REPLY_BYTES).toString('utf8');
    if (outcome.body.length > LOGGED_REPLY_BYTES) delivery.replyTruncated = true;
  }
  return delivery;
}
