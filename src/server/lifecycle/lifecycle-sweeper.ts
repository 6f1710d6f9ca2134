/**
 * The lifecycle sweep: carries out every bucket's enabled lifecycle rules
 * (lifecycle-configuration.ts) in the background, on any ObjectStore, through the contract only
 * (listBuckets, getBucketSetting 'lifecycle', listObjects, headObject, deleteObject, multipart.listUploads,
 * multipart.abort), so every backend gets it without code of its own.
 *
 * Every `intervalMs` (and once at start, so a server restarted more often than the interval still
 * sweeps) it walks the buckets; for each enabled rule it lists the rule's prefix a bounded page at
 * a time, deletes the objects whose Expiration is due and aborts the uploads whose
 * AbortMultipartUpload is due, and yields to the event loop between pages, so requests are served
 * throughout. A lifecycle "day" lasts `dayMs` (24 h; tests shorten it).
 *
 * Safe to run concurrently (several gateways over one database): every step is idempotent (a
 * delete of a missing key succeeds, an abort of a gone upload is NoSuchUpload and skipped) and an
 * object is checked again (headObject) just before it is deleted, so one overwritten since the
 * listing is kept. Still one sweep runs per deployment at a time: a store shared by several
 * processes elects one (`ObjectStore.withSweepLock`, a PostgreSQL advisory lock on the gateway
 * store) and the others skip their turn (`skipped` in the report), so N gateways do not each
 * walk every bucket.
 *
 * Invariant: the sweep never throws into its timer and never outlives `close()`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isOssError } from '../../shared/oss-error.ts';
import type {
  LifecycleRule,
  LifecycleTime,
  ObjectStore,
  StoredObject,
  UploadInfo,
} from '../../store/object-store.ts';

/** How often the sweep runs (`--lifecycle-interval`). */
export const DEFAULT_LIFECYCLE_INTERVAL_MS = 3_600_000;
/** How long a lifecycle "day" lasts (`--lifecycle-day`). */
export const DEFAULT_LIFECYCLE_DAY_MS = 86_400_000;
/** Keys listed, checked and deleted before the sweep yields to requests again. */
const DEFAULT_BATCH_SIZE = 100;

export interface LifecycleSweepOptions {
  intervalMs: number;
  dayMs: number;
  /** Objects or uploads handled per page, between two yields to the event loop. Default 100. */
  batchSize?: number;
}

/** What one sweep did. */
export interface LifecycleSweepReport {
  /** Buckets with at least one enabled rule. */
  buckets: number;
  expiredObjects: number;
  abortedUploads: number;
  /** Another process sharing the store was sweeping: this round was left to it. */
  skipped?: boolean;
}

export interface LifecycleSweeper {
  /** Runs one sweep now (after the one in progress, if any). */
  sweep(): Promise<LifecycleSweepReport>;
  /** Stops the timer and waits for a sweep in progress to stop at its next page. */
  close(): Promise<void>;
}

/**
 * When `time` is due for something last modified (initiated) at `since`.
 * FIDELITY: OSS does not say where a lifecycle day starts; upcall counts `Days` from the last
 * modification itself (due at lastModified + Days × day, no rounding to a midnight), so a shortened
 * day behaves the same. `CreatedBeforeDate` selects everything last modified before that date from
 * the first sweep on, even while the date is still in the future (it is a cut-off, not a schedule).
 */
export function isDue(time: LifecycleTime, since: Date, now: Date, dayMs: number): boolean {
  if ('days' in time) return now.getTime() >= since.getTime() + time.days * dayMs;
  return since.getTime() < Date.parse(time.createdBeforeDate);
}

/** An object a rule's Expiration may delete: under its prefix and carrying every one of its tags. */
export function ruleMatchesObject(rule: LifecycleRule, object: StoredObject): boolean {
  return (
    object.key.startsWith(rule.prefix) &&
    rule.tags.every((tag) => object.tags.some((own) => own.key === tag.key && own.value === tag.value))
  );
}

export function startLifecycleSweeper(
  store: ObjectStore,
  options: LifecycleSweepOptions,
  context: { now: () => Date; logger: Logger },
): LifecycleSweeper {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<LifecycleSweepReport> | undefined;

  const sweepBucket = async (
    bucket: string,
    rules: readonly LifecycleRule[],
    report: LifecycleSweepReport,
  ) => {
    // FIDELITY: rules may overlap (OSS once refused overlapping prefixes, newer OSS allows them);
    // an object or upload matched by several rules goes as soon as any of them is due.
    for (const rule of rules) {
      if (rule.expiration !== undefined) {
        report.expiredObjects += await expireObjects(bucket, rule, rule.expiration);
      }
      if (rule.abortMultipartUpload !== undefined) {
        report.abortedUploads += await abortUploads(bucket, rule, rule.abortMultipartUpload);
      }
    }
  };

  const expireObjects = async (bucket: string, rule: LifecycleRule, time: LifecycleTime) => {
    let expired = 0;
    let after: string | undefined;
    for (;;) {
      if (closed) return expired;
      // No delimiter, and only `objects` / `isTruncated` read: every key under the prefix.
      const page = await store.listObjects(bucket, {
        prefix: rule.prefix,
        ...(after === undefined ? {} : { after }),
        maxKeys: batchSize,
      });
      for (const listed of page.objects) {
        if (!isDue(time, listed.lastModified, context.now(), options.dayMs)) continue;
        if (await expireIfStillDue(bucket, listed, rule, time)) expired += 1;
      }
      const last = page.objects.at(-1);
      if (!page.isTruncated || last === undefined) return expired;
      after = last.key;
      await nextTurn();
    }
  };

  /** Checks the object again as it is now (tags, and not replaced since it was listed), then deletes it. */
  const expireIfStillDue = async (
    bucket: string,
    listed: StoredObject,
    rule: LifecycleRule,
    time: LifecycleTime,
  ): Promise<boolean> => {
    let current: StoredObject;
    try {
      current = await store.headObject(bucket, listed.key);
    } catch (error) {
      if (isOssError(error) && error.code === 'NoSuchKey') return false;
      throw error;
    }
    if (current.lastModified.getTime() !== listed.lastModified.getTime()) return false;
    if (!ruleMatchesObject(rule, current)) return false;
    if (!isDue(time, current.lastModified, context.now(), options.dayMs)) return false;
    // Between this check and the delete a new upload of the key could land and be deleted; the
    // window is one store call wide. A conditional delete in the contract would close it.
    await store.deleteObject(bucket, listed.key);
    return true;
  };

  const abortUploads = async (bucket: string, rule: LifecycleRule, time: LifecycleTime) => {
    let aborted = 0;
    let marker: { keyMarker: string; uploadIdMarker: string } | undefined;
    for (;;) {
      if (closed) return aborted;
      const page = await store.multipart.listUploads(bucket, {
        prefix: rule.prefix,
        ...marker,
        maxUploads: batchSize,
      });
      for (const upload of page.uploads) {
        if (!isDue(time, upload.initiated, context.now(), options.dayMs)) continue;
        if (await abortIfPresent(upload)) aborted += 1;
      }
      const last = page.uploads.at(-1);
      if (!page.isTruncated || last === undefined) return aborted;
      marker = { keyMarker: last.key, uploadIdMarker: last.uploadId };
      await nextTurn();
    }
  };

  const abortIfPresent = async (upload: UploadInfo): Promise<boolean> => {
    try {
      await store.multipart.abort({ bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId });
      return true;
    } catch (error) {
      // Completed or aborted meanwhile (by its client, or another gateway's sweep).
      if (isOssError(error) && error.code === 'NoSuchUpload') return false;
      throw error;
    }
  };

  const sweepAll = async (): Promise<LifecycleSweepReport> => {
    const report: LifecycleSweepReport = { buckets: 0, expiredObjects: 0, abortedUploads: 0 };
    for (const { name } of await store.listBuckets()) {
      if (closed) break;
      try {
        const lifecycle = await store.getBucketSetting(name, 'lifecycle');
        const enabled = lifecycle?.rules.filter((rule) => rule.status === 'Enabled') ?? [];
        if (enabled.length === 0) continue;
        report.buckets += 1;
        await sweepBucket(name, enabled, report);
      } catch (error) {
        // Deleted while being swept: nothing left to do there.
        if (isOssError(error) && error.code === 'NoSuchBucket') continue;
        // One bucket's failure (a disk error) must not stop the others; the next sweep retries.
        context.logger.warn({ err: error, bucket: name }, 'lifecycle sweep of a bucket failed');
      }
      await nextTurn();
    }
    if (report.expiredObjects > 0 || report.abortedUploads > 0) {
      context.logger.info({ lifecycle: report }, 'lifecycle sweep');
    }
    return report;
  };

  /** One round, unless another process sharing the store holds the sweep (ObjectStore.withSweepLock). */
  const sweepElected = async (): Promise<LifecycleSweepReport> => {
    if (store.withSweepLock === undefined) return sweepAll();
    const report = await store.withSweepLock('lifecycle', sweepAll);
    return report ?? { buckets: 0, expiredObjects: 0, abortedUploads: 0, skipped: true };
  };

  const sweep = (): Promise<LifecycleSweepReport> => {
    const previous = running ?? Promise.resolve(undefined);
    const next = previous.then(sweepElected, sweepElected);
    running = next;
    const forget = (): void => {
      if (running === next) running = undefined;
    };
    next.then(forget, forget);
    return next;
  };

  const schedule = (delayMs: number): void => {
    if (closed) return;
    timer = setTimeout(() => {
      sweep().then(
        () => schedule(options.intervalMs),
        (error: unknown) => {
          context.logger.warn({ err: error }, 'lifecycle sweep failed');
          schedule(options.intervalMs);
        },
      );
    }, delayMs);
    // The sweep never keeps a process alive on its own.
    timer.unref();
  };
  schedule(0);

  return {
    sweep,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
