/**
 * The HTTP adapter's promises over real sockets: request id / Date / Server headers on every
 * response, HEAD without a body, keep-alive surviving an error, `Expect: 100-continue`,
 * virtual-host style on raw requests, the optional access log, and close() releasing the port.
 */
import { request as httpRequest } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryObjectStore } from '../../../src/store/index.ts';
import { errorCode, rawRequest, signRequest, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString());
      callback();
    },
  });
  server = await startTestServer({ accessLog: true, logger: pino({ level: 'info' }, sink) });
  await signedRequest(server, { method: 'PUT', bucket: server.bucket, key: 'hello.txt', body: 'hello' });
});
afterAll(async () => {
  await server.close();
});

/** The store with one method replaced; every other method still runs on the store itself. */
function overriding<T extends object>(store: T, name: keyof T, replacement: unknown): T {
  return new Proxy(store, {
    get(target, property) {
      if (property === name) return replacement;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A pino logger at info that keeps its JSON lines. */
function capturedLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, logger: pino({ level: 'info' }, sink) };
}

describe('the HTTP adapter', () => {
  it('puts x-oss-request-id, Date and Server on success, 204, 304 and error responses', async () => {
    const ok = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'hello.txt' });
    const etag = String(ok.headers.etag);
    const responses = [
      ok,
      await signedRequest(server, { method: 'DELETE', bucket: server.bucket, key: 'absent' }),
      await signedRequest(server, {
        method: 'GET',
        bucket: server.bucket,
        key: 'hello.txt',
        headers: { 'If-None-Match': etag },
      }),
      await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'absent' }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 204, 304, 404]);
    const ids = new Set<string>();
    for (const res of responses) {
      expect(res.headers['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);
      expect(res.headers.server).toBe('AliyunOSS');
      expect(Date.parse(String(res.headers.date))).not.toBeNaN();
      ids.add(String(res.headers['x-oss-request-id']));
    }
    expect(ids.size).toBe(responses.length);
  });

  it('answers HEAD with the object headers and Content-Length but no body', async () => {
    const head = await signedRequest(server, { method: 'HEAD', bucket: server.bucket, key: 'hello.txt' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.body.length).toBe(0);
  });

  it('serves virtual-host style raw requests (bucket in Host)', async () => {
    const { headers } = signRequest(server, { method: 'GET', bucket: server.bucket, key: 'hello.txt' });
    const res = await rawRequest(server.port, {
      method: 'GET',
      path: '/hello.txt',
      headers: { ...headers, host: `${server.bucket}.oss-cn-hangzhou.aliyuncs.com` },
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello');
  });

  it('honours Expect: 100-continue', async () => {
    const { path, headers } = signRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'continued.txt',
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path,
        headers: { ...headers, Expect: '100-continue', 'Content-Length': '9' },
      });
      req.on('continue', () => req.end('continued'));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    const got = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'continued.txt' });
    expect(got.text).toBe('continued');
  });

  it('keeps a keep-alive connection usable after an error response', async () => {
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (key: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const signed = signRequest(server, { method: 'GET', bucket: server.bucket, key });
        const req = httpRequest(
          { host: '127.0.0.1', port: server.port, path: signed.path, headers: signed.headers, agent },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await send('absent');
    const second = await send('hello.txt');
    agent.destroy();
    expect(first.status).toBe(404);
    expect(second.status).toBe(200);
    expect(second.socket).toBe(first.socket);
  });

  it('survives a client that abandons a large download halfway', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const put = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'big.bin',
      body: big,
    });
    expect(put.status).toBe(200);
    const signed = signRequest(server, { method: 'GET', bucket: server.bucket, key: 'big.bin' });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, path: signed.path, headers: signed.headers, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
      req.end();
    });
    const head = await signedRequest(server, { method: 'HEAD', bucket: server.bucket, key: 'big.bin' });
    expect(head.headers['content-length']).toBe(String(big.length));
    const got = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'big.bin',
      headers: { Range: 'bytes=-4' },
    });
    expect(got.status).toBe(206);
    expect([...got.body]).toEqual([7, 7, 7, 7]);
    // An abandoned download is the client's choice, not a server error.
    const errors = logLines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });

  it('writes an access log line per request when asked', () => {
    const lines = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'request');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l['method'] === 'HEAD' && l['status'] === 200)).toBe(true);
    expect(lines.every((l) => typeof l['requestId'] === 'string')).toBe(true);
  });

  it('turns an unexpected failure into InternalError 500, logged with the request id, details hidden', async () => {
    const memory = createMemoryObjectStore();
    await memory.createBucket('broken', 'private');
    const failing = overriding(memory, 'headObject', () =>
      Promise.reject(new Error('disk on fire: /secret/path')),
    );
    const { lines, logger } = capturedLogger();
    const broken = await startTestServer({ store: failing, bucket: null, logger });
    try {
      const res = await signedRequest(broken, { method: 'GET', bucket: 'broken', key: 'k' });
      expect(res.status).toBe(500);
      expect(errorCode(res)).toBe('InternalError');
      expect(res.text).not.toContain('disk on fire');
      const requestId = String(res.headers['x-oss-request-id']);
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged.some((l) => l['requestId'] === requestId && l['level'] === 50)).toBe(true);
      const after = await signedRequest(broken, { method: 'PUT', bucket: 'broken', key: 'k', body: 'x' });
      expect(after.status).toBe(200);
    } finally {
      await broken.close();
      await memory.close();
    }
  });

  it('cuts the response and logs when the store fails mid-body; releases the body when the client leaves', async () => {
    const memory = createMemoryObjectStore();
    await memory.createBucket('flaky', 'private');
    await memory.putObject('flaky', 'k', Readable.from([Buffer.alloc(1024 * 1024, 1)]), {
      meta: { contentType: 'application/octet-stream', userMeta: {} },
    });
    const bodies: Readable[] = [];
    let failMidway = true;
    // 64 KiB, then a read error (failMidway) or a stall that only a destroy ends.
    const flaky = overriding(memory, 'getObject', async (...args: Parameters<typeof memory.getObject>) => {
      const stream = await memory.getObject(...args);
      let sent = false;
      const body = new Readable({
        read() {
          if (!sent) {
            sent = true;
            this.push(Buffer.alloc(64 * 1024, 2));
          } else if (failMidway) {
            this.destroy(new Error('EIO: read failed'));
          }
        },
      });
      stream.body.destroy();
      bodies.push(body);
      return { ...stream, body };
    });
    const { lines, logger } = capturedLogger();
    const server = await startTestServer({ store: flaky, bucket: null, logger });
    const download = (onFirstData: (req: ReturnType<typeof httpRequest>) => void) => {
      const signed = signRequest(server, { method: 'GET', bucket: 'flaky', key: 'k' });
      return new Promise<{ received: number; error?: Error }>((resolve) => {
        let received = 0;
        const req = httpRequest(
          { host: '127.0.0.1', port: server.port, path: signed.path, headers: signed.headers, agent: false },
          (res) => {
            res.on('data', (chunk: Buffer) => {
              if (received === 0) onFirstData(req);
              received += chunk.length;
            });
            res.on('error', (error) => resolve({ received, error }));
            res.on('end', () => resolve({ received }));
          },
        );
        req.on('error', (error) => resolve({ received, error }));
        req.end();
      });
    };
    try {
      const failed = await download(() => {});
      expect(failed.error).toBeDefined(); // cut short: 1 MiB announced, 64 KiB sent
      expect(failed.received).toBeLessThan(1024 * 1024);
      await expect.poll(() => lines.some((l) => l.includes('response body failed mid-stream'))).toBe(true);

      failMidway = false;
      await download((req) => req.destroy());
      await expect.poll(() => bodies.at(-1)?.destroyed).toBe(true);
      const after = await signedRequest(server, { method: 'HEAD', bucket: 'flaky', key: 'k' });
      expect(after.status).toBe(200);
    } finally {
      await server.close();
      await memory.close();
    }
  });

  it('releases its port on close()', async () => {
    const other = await startTestServer();
    const { port } = other;
    await other.close();
    await expect(rawRequest(port, { method: 'GET', path: '/' })).rejects.toThrow();
  });
});
