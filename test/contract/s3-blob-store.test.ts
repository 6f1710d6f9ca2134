/**
 * The S3 blob store (src/store/gateway/s3-blob-store.ts) against the real engines it is built for:
 * OpenStack Swift's s3api and Ceph RGW (test/helpers/services.ts reads their env). The same suite
 * runs on both, since each has quirks the other lacks (unquoted copy ETags on RGW, Content-MD5
 * required by Swift's DeleteObjects). Each run works under its own random key prefix and deletes
 * it afterwards. The failure cases that need no engine (unreachable, hung, flaky) run always.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOssError } from '../../src/shared/oss-error.ts';
import type { BlobStore, S3Config } from '../../src/store/gateway/blob-store.ts';
import { createS3BlobStore } from '../../src/store/gateway/s3-blob-store.ts';
import { testCephS3, testServices } from '../helpers/services.ts';

const engines: [string, S3Config | undefined][] = [
  ['Swift s3api', testServices()?.s3],
  ['Ceph RGW', testCephS3()],
];

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Resolves to the OssError code the promise rejects with (fails the test if it resolves). */
async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isOssError(error)) throw new Error(`expected an OssError, got ${inspect(error)}`);
  return error.code;
}

describe.each(engines)('S3 blob store on %s', (_engine, config) => {
  describe.skipIf(config === undefined)('', () => {
    const prefix = `blob-store-test-${randomBytes(6).toString('hex')}/`;
    let store: BlobStore;

    beforeAll(() => {
      store = createS3BlobStore(config!);
    });
    afterAll(async () => {
      if (store === undefined) return;
      const left = await collect(store.list(prefix));
      await store.delete(left.map((e) => e.key));
      await store.close();
    });

    it('puts a blob and reads it back whole and by inclusive range, with the MD5 as ETag', async () => {
      const data = randomBytes(100_000);
      const result = await store.put(`${prefix}whole`, Readable.from([data]), data.length);
      expect(result.etag).toBe(md5(data));
      expect((await readAll(await store.get(`${prefix}whole`))).equals(data)).toBe(true);
      const part = await readAll(await store.get(`${prefix}whole`, { start: 10, end: 20 }));
      expect(part.equals(data.subarray(10, 21))).toBe(true);
      const last = await readAll(await store.get(`${prefix}whole`, { start: 99_999, end: 99_999 }));
      expect(last.equals(data.subarray(99_999))).toBe(true);
    });

    it('stores an empty blob', async () => {
      const result = await store.put(`${prefix}empty`, Readable.from([]), 0);
      expect(result.etag).toBe(md5(''));
      expect((await readAll(await store.get(`${prefix}empty`))).length).toBe(0);
    });

    it('copies server-side, returning the copy ETag unquoted', async () => {
      const data = randomBytes(5000);
      await store.put(`${prefix}copy-source`, Readable.from([data]), data.length);
      const result = await store.copy(`${prefix}copy-source`, `${prefix}copy-target`);
      expect(result.etag).toBe(md5(data));
      expect((await readAll(await store.get(`${prefix}copy-target`))).equals(data)).toBe(true);
    });

    it('lists by prefix in key order with sizes, and deletes idempotently', async () => {
      const dir = `${prefix}list/`;
      for (const [name, size] of [
        ['b', 2],
        ['a', 1],
        ['c/d', 3],
      ] as const) {
        await store.put(`${dir}${name}`, Readable.from([Buffer.alloc(size, 1)]), size);
      }
      const listed = await collect(store.list(dir));
      expect(listed.map((e) => [e.key, e.size])).toEqual([
        [`${dir}a`, 1],
        [`${dir}b`, 2],
        [`${dir}c/d`, 3],
      ]);
      for (const entry of listed) {
        expect(Math.abs(entry.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      }
      await store.delete([`${dir}a`, `${dir}never-existed`, `${dir}c/d`]);
      expect((await collect(store.list(dir))).map((e) => e.key)).toEqual([`${dir}b`]);
      await store.delete([`${dir}a`]);
      await store.delete([]);
      expect(await rejectionCode(store.get(`${dir}a`))).toBe('InternalError');
    });

    it('lists across continuation pages and deletes in batches', async () => {
      const paged = createS3BlobStore(config!, { listPageSize: 2, deleteBatchSize: 2 });
      const dir = `${prefix}pages/`;
      try {
        const keys = ['1', '2', '3', '4', '5'].map((n) => `${dir}${n}`);
        for (const key of keys) await paged.put(key, Readable.from([Buffer.from(key)]), key.length);
        expect((await collect(paged.list(dir))).map((e) => e.key)).toEqual(keys);
        await paged.delete([...keys, `${dir}missing`]);
        expect(await collect(paged.list(dir))).toEqual([]);
      } finally {
        await paged.close();
      }
    });

    it('round-trips keys with unicode, spaces, +, % and URL delimiters', async () => {
      const dir = `${prefix}keys/`;
      const names = ['ü 日本語 🙂', ' a  b ', 'a+b+c', '100% %zz%2F', "?#&=;:@!$'()*,~", 'x/./y//z/../w'];
      for (const [i, name] of names.entries()) {
        const data = Buffer.from(`blob ${i}`);
        const { etag } = await store.put(`${dir}${name}`, Readable.from([data]), data.length);
        expect(etag).toBe(md5(data));
        expect((await readAll(await store.get(`${dir}${name}`))).toString()).toBe(`blob ${i}`);
      }
      await store.copy(`${dir}${names[0]!}`, `${dir}copy of ${names[0]!}`);
      const listed = (await collect(store.list(dir))).map((e) => e.key);
      const expected = [...names.map((n) => `${dir}${n}`), `${dir}copy of ${names[0]!}`];
      expect(listed).toEqual(expected.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      await store.delete(listed);
      expect(await collect(store.list(dir))).toEqual([]);
    });

    it('streams a 64 MiB put with bounded memory, and reads it back', async () => {
      const chunkSize = 1024 * 1024;
      const chunks = 64;
      const hash = createHash('md5');
      // Two buffers refilled in turn: garbage would make RSS depend on when V8 collects, while a
      // client that copied the body would grow by 64 MiB, and one that kept references to chunks
      // and sent them later would send refilled bytes (a wrong ETag).
      const buffers = [Buffer.alloc(chunkSize), Buffer.alloc(chunkSize)];
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) {
            const chunk = buffers[i % 2]!.fill(i);
            hash.update(chunk);
            yield chunk;
          }
        })(),
      );
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      let etag: string;
      try {
        ({ etag } = await store.put(`${prefix}big`, body, chunks * chunkSize));
      } finally {
        clearInterval(sampler);
      }
      expect(etag).toBe(hash.digest('hex'));
      expect(peak - baseline).toBeLessThan(24 * 1024 * 1024);
      const back = createHash('md5');
      let size = 0;
      for await (const chunk of await store.get(`${prefix}big`)) {
        back.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      expect(size).toBe(chunks * chunkSize);
      expect(back.digest('hex')).toBe(etag);
      await store.delete([`${prefix}big`]);
    });

    it('leaves nothing readable under the key when the body stream fails midway', async () => {
      const key = `${prefix}broken-body`;
      const failure = new Error('client went away');
      const body = new Readable({ read() {} });
      body.push(randomBytes(256 * 1024));
      setTimeout(() => body.destroy(failure), 100);
      await expect(store.put(key, body, 1024 * 1024)).rejects.toBe(failure);
      expect(await rejectionCode(store.get(key))).toBe('InternalError');
      expect(await collect(store.list(key))).toEqual([]);
    });

    it('rejects a body shorter than its size with IncompleteBody and stores nothing', async () => {
      const key = `${prefix}short-body`;
      expect(await rejectionCode(store.put(key, Readable.from([randomBytes(1000)]), 2000))).toBe(
        'IncompleteBody',
      );
      expect(await rejectionCode(store.get(key))).toBe('InternalError');
      expect(await collect(store.list(key))).toEqual([]);
    });

    it('rejects a body longer than its size', async () => {
      const key = `${prefix}long-body`;
      expect(await rejectionCode(store.put(key, Readable.from([randomBytes(3000)]), 2000))).toBe(
        'IncompleteBody',
      );
    });

    it('stops a put when its signal aborts', async () => {
      const controller = new AbortController();
      const body = new Readable({ read() {} });
      body.push(randomBytes(64 * 1024));
      setTimeout(() => controller.abort(new Error('upload cancelled')), 100);
      await expect(store.put(`${prefix}aborted`, body, 1024 * 1024, controller.signal)).rejects.toThrow(
        'upload cancelled',
      );
      expect(await collect(store.list(`${prefix}aborted`))).toEqual([]);
    });

    it('answers check() when the bucket is there', async () => {
      await store.check();
    });

    it('names the S3 code on a wrong secret and never shows the secret', async () => {
      const secret = `wrong-${randomBytes(12).toString('hex')}`;
      const wrong = createS3BlobStore({ ...config!, secretAccessKey: secret });
      try {
        const error: unknown = await wrong.get(`${prefix}whole`).catch((e: unknown) => e);
        expect(isOssError(error) && error.code).toBe('InternalError');
        expect((error as Error).message).toMatch(
          /GetObject: the S3 engine answered 403 SignatureDoesNotMatch/,
        );
        const putError: unknown = await wrong
          .put(`${prefix}never`, Readable.from([Buffer.from('x')]), 1)
          .catch((e: unknown) => e);
        expect((putError as Error).message).toMatch(/403 SignatureDoesNotMatch/);
        expect(await rejectionCode(wrong.check())).toBe('ServiceUnavailable');
        for (const e of [error, putError]) {
          const shown = `${inspect(e, { depth: 10 })} ${JSON.stringify(e)}`;
          expect(shown).not.toContain(secret);
          expect(shown).not.toMatch(/Signature=[0-9a-f]{64}/);
          expect(shown).not.toContain(`${prefix}`);
        }
      } finally {
        await wrong.close();
      }
    });

    it('says which bucket-level failure makes check() fail', async () => {
      const missing = createS3BlobStore({
        ...config!,
        bucket: `upcall-missing-${randomBytes(4).toString('hex')}`,
      });
      try {
        const error: unknown = await missing.check().catch((e: unknown) => e);
        expect(isOssError(error) && error.code).toBe('ServiceUnavailable');
        expect((error as Error).message).toMatch(/HeadBucket: the S3 engine answered 404/);
      } finally {
        await missing.close();
      }
    });
  });
});

const FAKE_CONFIG = {
  bucket: 'upcall-test',
  region: 'us-east-1',
  accessKeyId: 'test',
  secretAccessKey: 'testing',
  pathStyle: true,
} as const;

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('S3 blob store without a working engine', () => {
  it('refuses a configuration it cannot address', () => {
    const ip = { ...FAKE_CONFIG, endpoint: 'http://127.0.0.1:9' };
    expect(() => createS3BlobStore({ ...ip, pathStyle: false })).toThrow(/virtual-hosted style .* DNS name/);
    expect(() => createS3BlobStore({ ...ip, endpoint: 'http://127.0.0.1:9/prefix' })).toThrow(/no path/);
    expect(() => createS3BlobStore(ip, { listPageSize: 1001 })).toThrow(RangeError);
    expect(() => createS3BlobStore(ip, { deleteBatchSize: 0 })).toThrow(RangeError);
  });

  it('rejects with ServiceUnavailable quickly when nothing listens', async () => {
    const store = createS3BlobStore({ ...FAKE_CONFIG, endpoint: `http://127.0.0.1:${await closedPort()}` });
    const started = Date.now();
    try {
      expect(await rejectionCode(store.get('k'))).toBe('ServiceUnavailable');
      expect(await rejectionCode(store.put('k', Readable.from([Buffer.from('x')]), 1))).toBe(
        'ServiceUnavailable',
      );
      expect(await rejectionCode(store.delete(['k']))).toBe('ServiceUnavailable');
      expect(await rejectionCode(collect(store.list('')))).toBe('ServiceUnavailable');
      expect(await rejectionCode(store.check())).toBe('ServiceUnavailable');
    } finally {
      await store.close();
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects a put whose engine connection is reset mid-body with ServiceUnavailable, not the body stream error', async () => {
    // undici destroys the request body with the socket's error (write ECONNRESET); that must still
    // read as the engine going away (503), not as the caller's stream breaking (500).
    const server = createNetServer((socket) => {
      let seen = 0;
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 256 * 1024) socket.resetAndDestroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const store = createS3BlobStore({ ...FAKE_CONFIG, endpoint: `http://127.0.0.1:${port}` });
    const size = 16 * 1024 * 1024;
    let pushed = 0;
    const body = new Readable({
      read() {
        // A body that keeps coming, as a client's upload does, so the reset meets writes in flight.
        setTimeout(() => {
          if (pushed >= size) return this.push(null);
          pushed += 64 * 1024;
          this.push(randomBytes(64 * 1024));
        }, 1);
      },
    });
    try {
      expect(await rejectionCode(store.put('k', body, size))).toBe('ServiceUnavailable');
    } finally {
      body.destroy();
      server.close();
      await store.close();
    }
  });

  it('gives up on an engine that accepts connections but never answers, within the request timeout', async () => {
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const store = createS3BlobStore(
      { ...FAKE_CONFIG, endpoint: `http://127.0.0.1:${port}` },
      { requestTimeoutMs: 500 },
    );
    try {
      let started = Date.now();
      expect(await rejectionCode(store.get('k'))).toBe('ServiceUnavailable');
      expect(Date.now() - started).toBeLessThan(3000);
      started = Date.now();
      expect(await rejectionCode(store.put('k', Readable.from([Buffer.from('x')]), 1))).toBe(
        'ServiceUnavailable',
      );
      expect(Date.now() - started).toBeLessThan(3000);
      // A copy's answer waits for the whole copy, so it has a deadline of its own.
      const copier = createS3BlobStore(
        { ...FAKE_CONFIG, endpoint: `http://127.0.0.1:${port}` },
        { requestTimeoutMs: 500, copyTimeoutMs: 3500 },
      );
      started = Date.now();
      expect(await rejectionCode(copier.copy('a', 'b'))).toBe('ServiceUnavailable');
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(Date.now() - started).toBeLessThan(6000);
      await copier.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
      await store.close();
    }
  });
});

/**
 * An engine in front of the real one that answers the first `failures` requests with 503 SlowDown
 * and forwards the rest untouched (the Host header too, so signatures still verify).
 */
async function startFlakyFront(
  target: string,
  failures: number,
): Promise<{ url: string; seen: () => number; close: () => Promise<void> }> {
  let seen = 0;
  const { hostname, port } = new URL(target);
  const server: Server = createHttpServer((req, res) => {
    seen++;
    if (seen <= failures) {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        );
      });
      return;
    }
    const upstream = httpRequest(
      { hostname, port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: frontPort } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${frontPort}`,
    seen: () => seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const swift = testServices()?.s3;
describe.skipIf(swift === undefined)('S3 blob store retries', () => {
  const fast = { retry: { baseDelayMs: 10 } };

  it('does not retry a streamed PUT: its body cannot be sent twice', async () => {
    const front = await startFlakyFront(swift!.endpoint, 1);
    const store = createS3BlobStore({ ...swift!, endpoint: front.url }, fast);
    try {
      const put = store.put(
        `blob-store-retry-${randomBytes(6).toString('hex')}`,
        Readable.from([Buffer.from('x')]),
        1,
      );
      expect(await rejectionCode(put)).toBe('ServiceUnavailable');
      expect(front.seen()).toBe(1);
    } finally {
      await store.close();
      await front.close();
    }
  });

  it('retries a GET through 503 SlowDown answers, and gives up after its attempts', async () => {
    const direct = createS3BlobStore(swift!);
    const key = `blob-store-retry-${randomBytes(6).toString('hex')}`;
    await direct.put(key, Readable.from([Buffer.from('retry me')]), 8);
    const flaky = await startFlakyFront(swift!.endpoint, 2);
    const down = await startFlakyFront(swift!.endpoint, 100);
    const reader = createS3BlobStore({ ...swift!, endpoint: flaky.url }, fast);
    const failing = createS3BlobStore(
      { ...swift!, endpoint: down.url },
      { retry: { baseDelayMs: 10, maxAttempts: 3 } },
    );
    try {
      expect((await readAll(await reader.get(key))).toString()).toBe('retry me');
      expect(flaky.seen()).toBe(3);
      const error: unknown = await failing.get(key).catch((e: unknown) => e);
      expect(isOssError(error) && error.code).toBe('ServiceUnavailable');
      expect((error as Error).message).toMatch(/503 SlowDown, 3 attempts/);
      expect(down.seen()).toBe(3);
    } finally {
      await Promise.all([reader.close(), failing.close()]);
      await Promise.all([flaky.close(), down.close()]);
      await direct.delete([key]);
      await direct.close();
    }
  });
});
