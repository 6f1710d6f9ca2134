import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../shared/crc64.ts';
import { isOssError } from '../../shared/oss-error.ts';
import { Crc64Pool } from './crc64-pool.ts';
import { chunkSink, receiveBody, type BodySink, type ReceivedBody } from './hashing-writer.ts';

/**
 * A sink whose finish (the fsync) calls back only when released, recording the order of events, so
 * a test can see onHashed fire while the body is not yet durable.
 */
function heldSink(events: string[]): { sink: BodySink; release: () => void; finishing: Promise<void> } {
  let held: ((error?: Error | null) => void) | undefined;
  let finishCalled!: () => void;
  const finishing = new Promise<void>((resolve) => (finishCalled = resolve));
  return {
    finishing,
    release: () => {
      events.push('finish released');
      held?.();
    },
    sink: {
      write: (_chunks, callback) => callback(),
      finish(callback) {
        events.push('finish called');
        held = callback;
        finishCalled();
      },
    },
  };
}

/** Records the hook's calls, with a promise of the first one. */
function hookRecorder(events: string[]): {
  calls: ReceivedBody[];
  onHashed: (body: ReceivedBody) => void;
  first: Promise<ReceivedBody>;
} {
  const calls: ReceivedBody[] = [];
  let firstCall!: (body: ReceivedBody) => void;
  const first = new Promise<ReceivedBody>((resolve) => (firstCall = resolve));
  return {
    calls,
    first,
    onHashed(body) {
      events.push('hashed');
      calls.push(body);
      firstCall(body);
    },
  };
}

/** Resolves 'pending' if `promise` has not settled by the time the event loop has turned a few times. */
async function stillPending(promise: Promise<unknown>): Promise<unknown> {
  const marker = Symbol('pending');
  const tick = new Promise((resolve) => setImmediate(() => setImmediate(() => resolve(marker))));
  return (await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    tick,
  ])) === marker
    ? 'pending'
    : 'settled';
}

describe('receiveBody', () => {
  it('hashes and passes through any chunking of the body (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), async (chunks) => {
        const all = Buffer.concat(chunks);
        const { sink, chunks: out } = chunkSink();
        const received = await receiveBody(Readable.from(chunks.map((c) => Buffer.from(c))), sink);
        expect(Buffer.concat(out).equals(all)).toBe(true);
        expect(received.size).toBe(all.length);
        expect(received.crc64).toBe(crc64(all));
        const md5 = createHash('md5').update(all).digest();
        expect(received.md5.equals(md5)).toBe(true);
        expect(received.etag).toBe(md5.toString('hex').toUpperCase());
        expect(received.contentMd5).toBe(md5.toString('base64'));
      }),
      { numRuns: 50 },
    );
  });

  it('accepts exactly maxSize bytes and fails with EntityTooLarge past it, leaving the body undestroyed', async () => {
    expect((await receiveBody(Readable.from([Buffer.alloc(10)]), chunkSink().sink, 10)).size).toBe(10);
    // A body still being sent (like an HTTP request): the store must not tear it down.
    const body = new PassThrough();
    const pending = receiveBody(body, chunkSink().sink, 10).catch((e: unknown) => e);
    body.write(Buffer.alloc(6));
    body.write(Buffer.alloc(5));
    const error: unknown = await pending;
    expect(isOssError(error) && error.code).toBe('EntityTooLarge');
    expect(body.destroyed).toBe(false);
  });

  it('fails an oversized body as it arrives, even while the sink is still busy with a write', async () => {
    // A sink whose first write never completes: the chunks behind it wait in the Writable's buffer,
    // yet the limit is checked when they arrive, not when that buffer drains.
    const stuck: BodySink = { write: () => undefined, finish: (callback) => callback() };
    const body = new PassThrough();
    const pending = receiveBody(body, stuck, 100_000).catch((e: unknown) => e);
    for (let i = 0; i < 4; i++) body.write(Buffer.alloc(30_000));
    const error: unknown = await pending;
    expect(isOssError(error) && error.code).toBe('EntityTooLarge');
    expect(body.destroyed).toBe(false);
  });

  it('fails when the body errors or closes before its end', async () => {
    const failing = new PassThrough();
    const pending = receiveBody(failing, chunkSink().sink);
    failing.write('partial');
    failing.destroy(new Error('boom'));
    await expect(pending).rejects.toThrow('boom');

    const closed = new PassThrough();
    const pending2 = receiveBody(closed, chunkSink().sink);
    closed.write('partial');
    closed.destroy();
    await expect(pending2).rejects.toThrow();
  });

  it('fails when the sink fails, or when finishing (fsync) fails', async () => {
    const sink: BodySink = {
      write: (_chunks, callback) => callback(new Error('disk full')),
      finish: (callback) => callback(),
    };
    await expect(receiveBody(Readable.from([Buffer.from('x')]), sink)).rejects.toThrow('disk full');
    const failingFinish: BodySink = {
      write: (_chunks, callback) => callback(),
      finish: (callback) => callback(new Error('EIO')),
    };
    await expect(receiveBody(Readable.from([Buffer.from('x')]), failingFinish)).rejects.toThrow('EIO');
  });

  it('fails (does not hang) when an HTTP client disconnects mid-body', async () => {
    let outcome: Promise<unknown> | undefined;
    const reached = new Promise<void>((resolve) => {
      const server = createServer((req: IncomingMessage) => {
        outcome = receiveBody(req, chunkSink().sink).then(
          () => 'resolved',
          (error: unknown) => error,
        );
        req.once('data', () => resolve());
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        const client = request({
          port,
          host: '127.0.0.1',
          method: 'PUT',
          headers: { 'content-length': '1000' },
        });
        client.on('error', () => undefined);
        client.write(Buffer.alloc(100));
        void reached.then(() => {
          client.destroy();
          server.close();
        });
      });
    });
    await reached;
    const result = await outcome;
    expect(result).toBeInstanceOf(Error);
  });

  it('calls onHashed once, with the resolved digests, before the sink finishes (inline CRC)', async () => {
    const events: string[] = [];
    const all = Buffer.from('early signing needs only the digests');
    const { sink, release, finishing } = heldSink(events);
    const hook = hookRecorder(events);
    const pending = receiveBody(Readable.from([all.subarray(0, 5), all.subarray(5)]), sink, undefined, {
      onHashed: hook.onHashed,
    });
    await finishing;
    // Inline, the hook runs before the sink is even asked to finish (the fsync).
    expect(events).toEqual(['hashed', 'finish called']);
    const early = await hook.first;
    // The digests are out while the fsync is still held: the upload has not resolved.
    expect(await stillPending(pending)).toBe('pending');
    expect(early.crc64).toBe(crc64(all));
    expect(early.size).toBe(all.length);
    expect(early.contentMd5).toBe(createHash('md5').update(all).digest('base64'));
    release();
    const received = await pending;
    expect(received).toBe(early);
    expect(hook.calls).toEqual([received]);
    expect(events).toEqual(['hashed', 'finish called', 'finish released']);
  });

  it('does not call onHashed when receiving fails (client abort, EntityTooLarge, sink error)', async () => {
    const events: string[] = [];
    const hook = hookRecorder(events);
    const aborted = new PassThrough();
    const pending = receiveBody(aborted, chunkSink().sink, undefined, { onHashed: hook.onHashed });
    aborted.write('partial');
    aborted.destroy(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');

    await expect(
      receiveBody(Readable.from([Buffer.alloc(11)]), chunkSink().sink, 10, { onHashed: hook.onHashed }),
    ).rejects.toMatchObject({ code: 'EntityTooLarge' });

    const diskFull: BodySink = {
      write: (_chunks, callback) => callback(new Error('disk full')),
      finish: (callback) => callback(),
    };
    await expect(
      receiveBody(Readable.from([Buffer.from('x')]), diskFull, undefined, { onHashed: hook.onHashed }),
    ).rejects.toThrow('disk full');
    expect(hook.calls).toEqual([]);
  });

  it('completes the upload when onHashed throws (the hook cannot break a write)', async () => {
    const all = Buffer.from('still stored');
    const { sink, chunks } = chunkSink();
    let calls = 0;
    const received = await receiveBody(Readable.from([all]), sink, undefined, {
      onHashed: () => {
        calls++;
        throw new Error('hook bug');
      },
    });
    expect(calls).toBe(1);
    expect(received.crc64).toBe(crc64(all));
    expect(Buffer.concat(chunks).equals(all)).toBe(true);
  });
});

describe('receiveBody with the CRC-64 worker pool', () => {
  // A tiny threshold, batch and in-flight bound, so small test bodies cross all of them.
  const THRESHOLD = 4096;
  let pool: Crc64Pool;
  beforeAll(async () => {
    pool = new Crc64Pool({ size: 2, thresholdBytes: THRESHOLD, batchBytes: 1500, maxInFlightBytes: 4000 });
    expect(await pool.ready()).toBe(true);
  });
  afterAll(async () => {
    await pool.close();
  });

  /** A sink that is slow now and then, so the worker and the writer race in both directions. */
  function slowSink(): { sink: BodySink; chunks: Buffer[] } {
    const chunks: Buffer[] = [];
    let n = 0;
    return {
      chunks,
      sink: {
        write(more, callback) {
          chunks.push(...more);
          if (++n % 3 === 0) setImmediate(callback);
          else callback();
        },
        finish(callback) {
          setImmediate(callback);
        },
      },
    };
  }

  it('gives the inline CRC for sizes around the threshold and any chunking (property)', async () => {
    const source = Buffer.from(Array.from({ length: 3 * THRESHOLD }, (_, i) => (i * 131 + (i >> 7)) & 0xff));
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: THRESHOLD - 64, max: THRESHOLD + 64 })
          .chain((n) => fc.oneof(fc.constant(n), fc.integer({ min: 0, max: 3 * THRESHOLD }))),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }),
        async (size, cuts) => {
          const all = source.subarray(0, size);
          const chunks: Buffer[] = [];
          for (let at = 0, k = 0; at < size; k++) {
            const n = Math.min(cuts[k % cuts.length]!, size - at);
            chunks.push(Buffer.from(all.subarray(at, at + n)));
            at += n;
          }
          const { sink, chunks: out } = slowSink();
          const received = await receiveBody(Readable.from(chunks), sink, undefined, { crc64Pool: pool });
          expect(received.crc64).toBe(crc64(all));
          expect(received.size).toBe(size);
          expect(Buffer.concat(out).equals(all)).toBe(true);
          expect(received.md5.equals(createHash('md5').update(all).digest())).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    expect(pool.jobsStarted).toBeGreaterThan(10); // the worker path ran, not only the inline one
    expect(pool.activeJobs).toBe(0);
  });

  it('gives the inline CRC for a few MiB in odd-sized chunks, concurrently', async () => {
    const bodies = [3 * 1024 * 1024 + 7, 2 * 1024 * 1024 - 3, 5 * 1024 * 1024].map((n, s) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (i * (s + 7) + (i >>> 11)) & 0xff;
      return b;
    });
    const results = await Promise.all(
      bodies.map((all) => {
        const chunks: Buffer[] = [];
        for (let at = 0; at < all.length; at += 65_537) chunks.push(all.subarray(at, at + 65_537));
        return receiveBody(Readable.from(chunks), slowSink().sink, undefined, { crc64Pool: pool });
      }),
    );
    for (const [i, received] of results.entries()) expect(received.crc64).toBe(crc64(bodies[i]!));
  });

  it('does not leave a job behind when the body fails, is too large or the sink fails', async () => {
    const failing = new PassThrough();
    const pending = receiveBody(failing, chunkSink().sink, undefined, { crc64Pool: pool });
    failing.write(Buffer.alloc(3 * THRESHOLD));
    await new Promise((resolve) => setImmediate(resolve));
    failing.destroy(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');

    const tooLarge = receiveBody(
      Readable.from([Buffer.alloc(THRESHOLD), Buffer.alloc(THRESHOLD), Buffer.alloc(THRESHOLD)]),
      chunkSink().sink,
      2 * THRESHOLD + 1,
      { crc64Pool: pool },
    );
    await expect(tooLarge).rejects.toMatchObject({ code: 'EntityTooLarge' });

    let writes = 0;
    const diskFull: BodySink = {
      write: (_chunks, callback) => callback(++writes > 3 ? new Error('disk full') : null),
      finish: (callback) => callback(),
    };
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(THRESHOLD));
    await expect(
      receiveBody(Readable.from(chunks), diskFull, undefined, { crc64Pool: pool }),
    ).rejects.toThrow('disk full');
    expect(pool.activeJobs).toBe(0);
  });

  it('hashes a body declared past the threshold in a worker from its first byte (declaredSize)', async () => {
    const all = Buffer.from(Array.from({ length: 5 * THRESHOLD + 17 }, (_, i) => (i * 11) & 0xff));
    const chunks: Buffer[] = [];
    for (let at = 0; at < all.length; at += 1000) chunks.push(all.subarray(at, at + 1000));
    const jobsAtWrites: number[] = [];
    const sink: BodySink = {
      write(_more, callback) {
        jobsAtWrites.push(pool.activeJobs);
        callback();
      },
      finish: (callback) => callback(),
    };
    const declared = await receiveBody(Readable.from(chunks), sink, undefined, {
      crc64Pool: pool,
      declaredSize: all.length,
    });
    expect(declared.crc64).toBe(crc64(all));
    // The first 1000 bytes, well under the threshold, already went to the worker.
    expect(jobsAtWrites[0]).toBe(1);
    // Without a declared size the first chunks are hashed inline until the threshold.
    jobsAtWrites.length = 0;
    const undeclared = await receiveBody(Readable.from(chunks), sink, undefined, { crc64Pool: pool });
    expect(undeclared.crc64).toBe(crc64(all));
    expect(jobsAtWrites[0]).toBe(0);
    expect(pool.activeJobs).toBe(0);
  });

  it('calls onHashed once, with the resolved digests, while the sink finishes (worker CRC)', async () => {
    const events: string[] = [];
    const all = Buffer.from(Array.from({ length: 5 * THRESHOLD + 17 }, (_, i) => (i * 7) & 0xff));
    const chunks: Buffer[] = [];
    for (let at = 0; at < all.length; at += 1000) chunks.push(all.subarray(at, at + 1000));
    const { sink, release } = heldSink(events);
    const hook = hookRecorder(events);
    const started = pool.jobsStarted;
    const pending = receiveBody(Readable.from(chunks), sink, undefined, {
      crc64Pool: pool,
      onHashed: hook.onHashed,
    });
    // The fsync is held until the hook has fired: a hook that waited for it would never come.
    const early = await hook.first;
    expect(await stillPending(pending)).toBe('pending');
    expect(early.crc64).toBe(crc64(all));
    expect(early.etag).toBe(createHash('md5').update(all).digest('hex').toUpperCase());
    release();
    const received = await pending;
    expect(pool.jobsStarted).toBe(started + 1); // the worker path ran
    expect(received).toBe(early);
    expect(hook.calls).toEqual([received]);
    // The sink's finish runs concurrently with the worker's last batches; the hook precedes its callback.
    expect(events).toContain('finish called');
    expect(events.indexOf('hashed')).toBeLessThan(events.indexOf('finish released'));
  });

  it('does not call onHashed when a worker-hashed body fails, and survives a throwing hook', async () => {
    const events: string[] = [];
    const hook = hookRecorder(events);
    const failing = new PassThrough();
    const pending = receiveBody(failing, chunkSink().sink, undefined, {
      crc64Pool: pool,
      onHashed: hook.onHashed,
    });
    failing.write(Buffer.alloc(3 * THRESHOLD));
    await new Promise((resolve) => setImmediate(resolve));
    failing.destroy(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');
    await expect(
      receiveBody(
        Readable.from([Buffer.alloc(THRESHOLD), Buffer.alloc(THRESHOLD)]),
        chunkSink().sink,
        THRESHOLD,
        {
          crc64Pool: pool,
          onHashed: hook.onHashed,
        },
      ),
    ).rejects.toMatchObject({ code: 'EntityTooLarge' });
    expect(hook.calls).toEqual([]);

    const all = Buffer.alloc(3 * THRESHOLD, 0x33);
    const received = await receiveBody(
      Readable.from([all.subarray(0, 100), all.subarray(100)]),
      chunkSink().sink,
      undefined,
      {
        crc64Pool: pool,
        onHashed: () => {
          throw new Error('hook bug');
        },
      },
    );
    expect(received.crc64).toBe(crc64(all));
    expect(pool.activeJobs).toBe(0);
  });

  it('fails the upload (no hang) when its worker dies mid-body, and works again afterwards', async () => {
    const crashPool = new Crc64Pool({ size: 1, thresholdBytes: THRESHOLD, batchBytes: 1024 });
    expect(await crashPool.ready()).toBe(true);
    const body = new PassThrough();
    const pending = receiveBody(body, chunkSink().sink, undefined, { crc64Pool: crashPool }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    body.write(Buffer.alloc(2 * THRESHOLD));
    await new Promise((resolve) => setImmediate(resolve));
    expect(crashPool.activeJobs).toBe(1);
    await crashPool.close(); // what the pool sees when a worker crashes: its 'exit'
    expect(await pending).toBeInstanceOf(Error);
    expect(crashPool.activeJobs).toBe(0);

    expect(await crashPool.ready()).toBe(true);
    const all = Buffer.alloc(3 * THRESHOLD, 0x5a);
    const received = await receiveBody(
      Readable.from([all.subarray(0, 5000), all.subarray(5000)]),
      chunkSink().sink,
      undefined,
      {
        crc64Pool: crashPool,
      },
    );
    expect(received.crc64).toBe(crc64(all));
    await crashPool.close();
  });

  it('keeps the process alive only while a job runs (an idle pool does not hold the event loop)', () => {
    // A script that reads a body from memory (no socket holds the loop) with a warm pool, prints
    // the CRC and must then exit on its own.
    const script = `
      import { Readable } from 'node:stream';
      import { Crc64Pool } from ${JSON.stringify(new URL('./crc64-pool.ts', import.meta.url).href)};
      import { chunkSink, receiveBody } from ${JSON.stringify(new URL('./hashing-writer.ts', import.meta.url).href)};
      const pool = new Crc64Pool({ size: 1, thresholdBytes: 1024 });
      await pool.ready();
      const body = Readable.from([Buffer.alloc(3000, 1), Buffer.alloc(300000, 2)]);
      const received = await receiveBody(body, chunkSink().sink, undefined, { crc64Pool: pool });
      console.log(received.crc64);
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(crc64(Buffer.concat([Buffer.alloc(3000, 1), Buffer.alloc(300000, 2)])));
  });
});
