/**
 * A small pool of worker threads that continue the CRC-64 of large upload bodies off the main
 * thread (issue 7: upcall's 64 MiB PUT spent as long in the JavaScript CRC as in the native MD5, on
 * the same thread). The hashing writer starts every body inline and hands the running register to a
 * job here once the body passes `thresholdBytes`, so a small PUT never pays a worker round trip.
 *
 * Each store owns one pool (its options may pass another) and closes it in its `close()`; nothing
 * here is process-wide.
 *
 * Invariants:
 * - A job's CRC equals the inline one: the register moves over once, then every later byte goes to
 *   the worker in body order (copied into batches the job owns, so no buffer the sink may still be
 *   writing is ever transferred).
 * - Memory stays bounded: at most `maxInFlightBytes` (+ one batch) per job are posted but not yet
 *   hashed; `whenRoom` holds the caller (the Writable's callback) until the worker catches up. The
 *   worker hands each batch back with its acknowledgement and the next job fills it again: batches
 *   left as garbage in the worker would wait for its rare GCs (a 2 GiB PUT peaked at 242 MiB RSS).
 * - Idle workers never keep the process alive (unref'd); a worker with jobs does (ref'd), so a body
 *   read from memory in a script still completes.
 * - A worker that dies fails its jobs with an error (never a hang); workers that cannot start at all
 *   disable the pool and every body stays inline.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { Crc64 } from '../../shared/crc64.ts';
import { spawnWorker } from '../../shared/spawn-worker.ts';
import type { FromCrc64Worker, ToCrc64Worker } from './crc64-worker.ts';

export interface Crc64PoolOptions {
  /** Worker threads (default: cores - 1, at least 1, at most 4). */
  size?: number;
  /** Bodies at least this long move to a worker (default 1 MiB). */
  thresholdBytes?: number;
  /** Posted-but-unhashed bytes per job before the writer is held (default 4 MiB). */
  maxInFlightBytes?: number;
  /** Bytes per message to the worker (default 512 KiB). */
  batchBytes?: number;
}

/** Workers that fail before they say `ready` this many times disable the pool (inline from then on). */
const MAX_START_FAILURES = 3;

class PoolWorker {
  readonly jobs = new Map<number, Crc64Job>();
  ready = false;
  alive = true;
  readonly #worker: Worker;

  constructor(
    onReady: () => void,
    onExit: (self: PoolWorker, error: Error) => void,
    recycle: (buffer: ArrayBuffer) => void,
  ) {
    this.#worker = spawnWorker('./crc64-worker', import.meta.url);
    this.#worker.unref();
    let failure: Error | undefined;
    this.#worker.on('message', (message: FromCrc64Worker) => {
      if (message.op === 'ready') {
        this.ready = true;
        onReady();
        return;
      }
      if (message.op === 'ack') recycle(message.buffer);
      this.jobs.get(message.id)?.receive(message);
    });
    this.#worker.on('error', (error) => {
      failure = error;
    });
    this.#worker.on('messageerror', (error) => {
      failure = error;
      void this.#worker.terminate();
    });
    this.#worker.on('exit', (code) => {
      this.alive = false;
      const error = new Error(`CRC-64 worker exited (code ${code})`, failure ? { cause: failure } : {});
      for (const job of [...this.jobs.values()]) job.fail(error);
      this.jobs.clear();
      onExit(this, error);
    });
  }

  post(message: ToCrc64Worker, transfer?: ArrayBuffer[]): void {
    if (this.alive) this.#worker.postMessage(message, transfer);
  }

  attach(job: Crc64Job): void {
    if (this.jobs.size === 0) this.#worker.ref();
    this.jobs.set(job.id, job);
  }

  detach(job: Crc64Job): void {
    if (!this.jobs.delete(job.id)) return;
    if (this.jobs.size === 0) this.#worker.unref();
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

/** One body's CRC, continued in a worker. Not reusable; `end` or `cancel` finishes it. */
export class Crc64Job {
  readonly id: number;
  readonly #worker: PoolWorker;
  readonly #maxInFlight: number;
  readonly #batchBytes: number;
  readonly #onError: (error: Error) => void;
  readonly #spare: Buffer[];
  #batch: Buffer | undefined;
  #filled = 0;
  #inFlight = 0;
  #failure: Error | undefined;
  #settled = false;
  #waiter: ((error?: Error | null) => void) | undefined;
  #onDone: ((error: Error | null, crc?: Crc64) => void) | undefined;

  constructor(
    id: number,
    worker: PoolWorker,
    crc: Crc64,
    options: { maxInFlight: number; batchBytes: number; spare: Buffer[]; onError: (error: Error) => void },
  ) {
    this.id = id;
    this.#worker = worker;
    this.#maxInFlight = options.maxInFlight;
    this.#batchBytes = options.batchBytes;
    this.#onError = options.onError;
    this.#spare = options.spare;
    worker.attach(this);
    const [lo, hi] = crc.state();
    worker.post({ op: 'start', id, lo, hi });
  }

  /** Queues the next bytes of the body (copied; `chunk` stays the caller's). */
  push(chunk: Uint8Array): void {
    if (this.#settled) return;
    let offset = 0;
    while (offset < chunk.length) {
      // A batch the worker gave back, or allocUnsafeSlow: a buffer with its own ArrayBuffer (never
      // the shared pool), so it can be transferred; every byte posted is written first.
      const batch = (this.#batch ??= this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#batchBytes));
      const n = Math.min(chunk.length - offset, batch.length - this.#filled);
      batch.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === batch.length) this.#flush();
    }
  }

  /** Calls back once the worker has caught up to within the in-flight bound (or with the job's error). */
  whenRoom(callback: (error?: Error | null) => void): void {
    if (this.#failure) return callback(this.#failure);
    if (this.#settled || this.#inFlight <= this.#maxInFlight) return callback();
    this.#waiter = callback;
  }

  /** Sends the rest and calls back with the finished register. */
  end(callback: (error: Error | null, crc?: Crc64) => void): void {
    if (this.#failure) return callback(this.#failure);
    if (this.#settled) return callback(new Error('CRC-64 job already finished'));
    this.#flush();
    this.#onDone = callback;
    this.#worker.post({ op: 'end', id: this.id });
  }

  /** Abandons the job (the body failed): the worker forgets it, no callback runs. */
  cancel(): void {
    if (this.#settled) return;
    this.#settle();
    this.#worker.post({ op: 'drop', id: this.id });
  }

  /** @internal A message from the worker for this job. */
  receive(message: FromCrc64Worker): void {
    if (this.#settled) return;
    if (message.op === 'ack') {
      this.#inFlight -= message.bytes;
      const waiter = this.#waiter;
      if (waiter && this.#inFlight <= this.#maxInFlight) {
        this.#waiter = undefined;
        waiter();
      }
    } else if (message.op === 'done') {
      const done = this.#onDone;
      this.#settle();
      done?.(null, Crc64.fromState(message.lo, message.hi));
    }
  }

  /** @internal The worker died: whoever waits gets the error; if nobody does, `onError` does. */
  fail(error: Error): void {
    if (this.#settled) return;
    this.#failure = error;
    const waiter = this.#waiter;
    const done = this.#onDone;
    this.#settle();
    if (waiter) waiter(error);
    else if (done) done(error);
    else this.#onError(error);
  }

  #flush(): void {
    const batch = this.#batch;
    if (!batch || this.#filled === 0) return;
    const data = batch.subarray(0, this.#filled);
    this.#inFlight += this.#filled;
    this.#batch = undefined;
    this.#filled = 0;
    this.#worker.post({ op: 'data', id: this.id, data }, [batch.buffer as ArrayBuffer]);
  }

  #settle(): void {
    this.#settled = true;
    this.#waiter = undefined;
    this.#onDone = undefined;
    this.#batch = undefined;
    this.#worker.detach(this);
  }
}

export class Crc64Pool {
  readonly thresholdBytes: number;
  readonly #size: number;
  readonly #maxInFlight: number;
  readonly #batchBytes: number;
  #workers: PoolWorker[] = [];
  #startFailures = 0;
  #disabled = false;
  #nextId = 1;
  #jobsStarted = 0;
  #readyWaiters: (() => void)[] = [];
  /** Batches back from the workers, reused by the next job's `push` (bounded: see #recycle). */
  readonly #spare: Buffer[] = [];

  constructor(options: Crc64PoolOptions = {}) {
    this.#size = options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.thresholdBytes = options.thresholdBytes ?? 1024 * 1024;
    this.#maxInFlight = options.maxInFlightBytes ?? 4 * 1024 * 1024;
    this.#batchBytes = options.batchBytes ?? 512 * 1024;
  }

  /**
   * A job continuing `crc` in the least busy ready worker, or undefined while none is ready (the
   * workers are started on first demand; the caller goes on inline and asks again with a later
   * chunk) or when the pool is disabled. `onError` gets a worker's death when no call is waiting.
   */
  offload(crc: Crc64, onError: (error: Error) => void): Crc64Job | undefined {
    if (this.#disabled) return undefined;
    this.#spawn();
    let best: PoolWorker | undefined;
    for (const worker of this.#workers) {
      if (worker.ready && worker.alive && (!best || worker.jobs.size < best.jobs.size)) best = worker;
    }
    if (!best) return undefined;
    this.#jobsStarted++;
    return new Crc64Job(this.#nextId++, best, crc, {
      maxInFlight: this.#maxInFlight,
      batchBytes: this.#batchBytes,
      spare: this.#spare,
      onError,
    });
  }

  /** Jobs not yet finished or cancelled, over all workers (what a failed upload must not leave behind). */
  get activeJobs(): number {
    let n = 0;
    for (const worker of this.#workers) n += worker.jobs.size;
    return n;
  }

  /** Jobs ever started (bodies whose CRC went to a worker). */
  get jobsStarted(): number {
    return this.#jobsStarted;
  }

  /** Starts the workers and resolves once one is ready (true), or once the pool gave up (false). */
  ready(): Promise<boolean> {
    if (this.#disabled) return Promise.resolve(false);
    this.#spawn();
    if (this.#workers.some((w) => w.ready && w.alive)) return Promise.resolve(true);
    return new Promise((resolve) => this.#readyWaiters.push(() => resolve(!this.#disabled)));
  }

  /** Terminates the workers; their jobs fail. The pool starts new workers if asked again. */
  async close(): Promise<void> {
    const workers = this.#workers;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  #spawn(): void {
    while (this.#workers.length < this.#size) {
      let worker: PoolWorker;
      try {
        worker = new PoolWorker(
          () => {
            this.#startFailures = 0;
            this.#wake();
          },
          (dead) => this.#buried(dead),
          (buffer) => this.#recycle(buffer),
        );
      } catch {
        this.#disable();
        return;
      }
      this.#workers.push(worker);
    }
  }

  /** Keeps as many spare batches as two jobs can have in flight (9 MiB by default); the rest go to the GC. */
  #recycle(buffer: ArrayBuffer): void {
    const limit = 2 * (Math.ceil(this.#maxInFlight / this.#batchBytes) + 1);
    if (buffer.byteLength === this.#batchBytes && this.#spare.length < limit)
      this.#spare.push(Buffer.from(buffer));
  }

  #buried(dead: PoolWorker): void {
    this.#workers = this.#workers.filter((w) => w !== dead);
    if (!dead.ready && ++this.#startFailures >= MAX_START_FAILURES) this.#disable();
    else if (!dead.ready && this.#readyWaiters.length > 0) this.#spawn();
  }

  #disable(): void {
    this.#disabled = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const wake of waiters) wake();
  }
}
