/**
 * Signs outgoing callbacks on dedicated worker threads (issue 7, DESIGN.md Keys: signing off the
 * event loop). node:crypto's async `sign` runs on the libuv threadpool, and there an RSA-2048
 * signature (0.8 ms here) held up the upload's own file open, write and close behind it: measured
 * on this 2-core VM, a 0.12 ms open-write-close took 0.8 ms while a pool job signed, and 0.16 ms
 * while a worker thread did (bench/findings.md). So the signature and the commit now truly overlap.
 *
 * Invariants:
 * - `sign` never fails because of the workers: until one is ready, after one dies, or when none can
 *   start, the signature is made on the libuv threadpool instead (`signCallbackAsync`).
 * - A job's answer is exactly `signCallback(target, body, key)`: the worker runs that function.
 * - Idle workers never keep the process alive; a worker with jobs does.
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { signCallbackAsync } from 'upcall-verify';
import { spawnWorker } from '../../shared/spawn-worker.ts';
import type { FromSignWorker, ToSignWorker } from './callback-sign-worker.ts';

export interface CallbackSigner {
  /** The Authorization value for a callback request (SPEC.md §1.1). */
  sign(target: string, body: Uint8Array): Promise<string>;
  /** Starts the workers; true once one is ready, false if none can start (the threadpool signs then). */
  ready(): Promise<boolean>;
  /** Stops the workers; jobs still running finish on the threadpool. */
  close(): Promise<void>;
  /** Signatures made so far, by where they were computed. */
  readonly signed: { readonly worker: number; readonly threadpool: number };
}

export interface CallbackSignerOptions {
  /** Worker threads (default: cores - 1, at least 1, at most 4). */
  threads?: number;
}

/** Workers that die before they say `ready` this many times leave signing to the threadpool. */
const MAX_START_FAILURES = 3;

interface Job {
  target: string;
  body: Uint8Array;
  resolve: (authorization: string) => void;
  reject: (error: Error) => void;
}

class SignWorker {
  readonly jobs = new Map<number, Job>();
  ready = false;
  readonly #worker: Worker;

  constructor(
    key: KeyObject,
    events: { onReady: () => void; onSigned: () => void; onExit: (self: SignWorker) => void },
  ) {
    this.#worker = spawnWorker('./callback-sign-worker', import.meta.url, { workerData: { key } });
    this.#worker.unref();
    this.#worker.on('message', (message: FromSignWorker) => {
      if (message.op === 'ready') {
        this.ready = true;
        return events.onReady();
      }
      const job = this.jobs.get(message.id);
      if (!job) return;
      this.#forget(message.id);
      if (message.op === 'signed') {
        events.onSigned();
        job.resolve(message.authorization);
      } else {
        job.reject(new Error(message.message));
      }
    });
    // An error event is followed by exit; exit hands the unfinished jobs back.
    this.#worker.on('error', () => undefined);
    this.#worker.on('exit', () => events.onExit(this));
  }

  post(id: number, job: Job): void {
    if (this.jobs.size === 0) this.#worker.ref();
    this.jobs.set(id, job);
    // An exact-size copy: cloning a pooled Buffer would copy its whole 8 KiB slab.
    const message: ToSignWorker = { id, target: job.target, body: Uint8Array.from(job.body) };
    this.#worker.postMessage(message, [message.body.buffer as ArrayBuffer]);
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  #forget(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.#worker.unref();
  }
}

export function createCallbackSigner(
  privateKey: KeyObject | (() => Promise<KeyObject>),
  options: CallbackSignerOptions = {},
): CallbackSigner {
  const size = options.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
  let key: KeyObject | undefined = typeof privateKey === 'function' ? undefined : privateKey;
  let workers: SignWorker[] = [];
  let startFailures = 0;
  let nextId = 1;
  let closed = false;
  const signed = { worker: 0, threadpool: 0 };
  let readyWaiters: ((ready: boolean) => void)[] = [];
  const wake = (ready: boolean): void => {
    const waiters = readyWaiters;
    readyWaiters = [];
    for (const waiter of waiters) waiter(ready);
  };
  const gaveUp = (): boolean => closed || startFailures >= MAX_START_FAILURES;

  const onThreadpool = (job: Job, signingKey: KeyObject): void => {
    signCallbackAsync(job.target, job.body, signingKey).then((authorization) => {
      signed.threadpool++;
      job.resolve(authorization);
    }, job.reject);
  };

  const spawn = (signingKey: KeyObject): void => {
    while (!gaveUp() && workers.length < size) {
      let worker: SignWorker;
      try {
        worker = new SignWorker(signingKey, {
          onReady: () => {
            startFailures = 0;
            wake(true);
          },
          onSigned: () => signed.worker++,
          onExit: (dead) => {
            workers = workers.filter((w) => w !== dead);
            if (!dead.ready) startFailures++;
            // Its unfinished jobs are signed here instead: a dead worker fails no upload.
            for (const job of dead.jobs.values()) onThreadpool(job, signingKey);
            dead.jobs.clear();
            if (gaveUp()) wake(false);
            else if (!dead.ready && readyWaiters.length > 0) spawn(signingKey);
          },
        });
      } catch {
        startFailures = MAX_START_FAILURES;
        return wake(false);
      }
      workers.push(worker);
    }
  };

  const resolveKey = async (): Promise<KeyObject> =>
    (key ??= await (privateKey as () => Promise<KeyObject>)());

  return {
    async sign(target, body) {
      const signingKey = key ?? (await resolveKey());
      spawn(signingKey);
      let best: SignWorker | undefined;
      for (const worker of workers) {
        if (worker.ready && (!best || worker.jobs.size < best.jobs.size)) best = worker;
      }
      return new Promise<string>((resolve, reject) => {
        const job: Job = { target, body, resolve, reject };
        if (best) best.post(nextId++, job);
        else onThreadpool(job, signingKey);
      });
    },
    async ready() {
      spawn(await resolveKey());
      if (workers.some((w) => w.ready)) return true;
      if (gaveUp()) return false;
      return new Promise<boolean>((resolve) => readyWaiters.push(resolve));
    },
    async close() {
      closed = true;
      wake(false);
      const stopping = workers;
      workers = [];
      await Promise.all(stopping.map((w) => w.terminate()));
    },
    signed,
  };
}
