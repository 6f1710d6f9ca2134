/**
 * The storage server's logs, health and metrics over real sockets (issue 18, docs/operations.md):
 * one log line per request with its OSS facts, a warn line naming a failed callback's upload,
 * `/_upcall/metrics` counters that move with real ali-oss uploads, readiness that fails once the
 * metadata database is gone, and no secret, signature or token in any log line.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPostPolicyBundle, postObjectFormFields } from '../../../src/client/post-policy.ts';
import { mintTemporaryCredentials } from '../../../src/client/temporary-credentials.ts';
import { ossClient, pathStyleClient } from '../../helpers/ali-oss-client.ts';
import { errorCode, rawRequest, signedRequest } from '../../helpers/raw-request.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger at `level` that keeps its lines, raw (for secret scans) and parsed. */
function capturedLogger(level = 'info'): { raw: string[]; lines: () => LogLine[]; logger: Logger } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString());
      callback();
    },
  });
  return {
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
    logger: pino({ level }, sink),
  };
}

/** Waits until `predicate` holds: the log line is written when the response has finished. */
async function eventually(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(predicate()).toBe(true);
}

/** One sample of a Prometheus text exposition, by metric name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (have === wanted) return Number(match[3]);
  }
  return 0;
}

async function scrape(server: TestServer): Promise<string> {
  const response = await fetch(`${server.url}/_upcall/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe('per-request log lines and the failed-callback warning', () => {
  let server: TestServer;
  let sink: CallbackSink;
  const log = capturedLogger('info');

  beforeAll(async () => {
    server = await startTestServer({ logger: log.logger });
    sink = await startCallbackSink();
  });
  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  it('logs a PUT, a 404 and a 403 with operation, bucket, key, status, code, bytes and request id', async () => {
    const put = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'logged/a.txt',
      body: 'hello world',
    });
    const missing = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'logged/none' });
    const anonymous = await rawRequest(server.port, {
      method: 'GET',
      path: `/${server.bucket}/logged/a.txt`,
    });
    expect([put.status, missing.status, anonymous.status]).toEqual([200, 404, 403]);

    const lineOf = (requestId: unknown): LogLine | undefined =>
      log.lines().find((line) => line.msg === 'request' && line['requestId'] === requestId);
    await eventually(() => [put, missing, anonymous].every((r) => lineOf(r.headers['x-oss-request-id'])));

    const putLine = lineOf(put.headers['x-oss-request-id']);
    expect(putLine).toMatchObject({
      level: 30,
      method: 'PUT',
      bucket: server.bucket,
      key: 'logged/a.txt',
      operation: 'PutObject',
      status: 200,
      complete: true,
    });
    expect(putLine?.['code']).toBeUndefined();
    // The body and the head: more than the 11 body bytes in, the response head out.
    expect(putLine?.['bytesIn']).toBeGreaterThan(11);
    expect(putLine?.['bytesOut']).toBeGreaterThan(0);
    expect(typeof putLine?.['durationMs']).toBe('number');

    expect(lineOf(missing.headers['x-oss-request-id'])).toMatchObject({
      operation: 'GetObject',
      key: 'logged/none',
      status: 404,
      code: 'NoSuchKey',
    });
    expect(lineOf(anonymous.headers['x-oss-request-id'])).toMatchObject({
      operation: 'GetObject',
      status: 403,
      code: 'AccessDenied',
    });
  });

  it('warns of a failed callback with bucket, key, request id, URL and reason', async () => {
    sink.reply = (_callback, res) => {
      res.writeHead(500, { 'content-length': 0 });
      res.end();
    };
    const client = ossClient(server);
    // ali-oss reports the 203 as a CallbackFailedError carrying the request id.
    const failure = (await client
      .put('cb/failed.txt', Buffer.from('x'), {
        callback: { url: `${sink.url}/hook?token=callback-url-token`, body: 'k=${object}' },
      })
      .catch((error: unknown) => error)) as { name: string; status: number; requestId: string };
    expect(failure).toMatchObject({ name: 'CallbackFailedError', status: 203 });
    const requestId = failure.requestId;
    expect(requestId).toMatch(/^[0-9A-F]{24}$/);

    const warned = (): LogLine | undefined =>
      log.lines().find((line) => line.msg === 'upload callback failed' && line['requestId'] === requestId);
    await eventually(() => warned() !== undefined);
    expect(warned()).toMatchObject({
      level: 40,
      bucket: server.bucket,
      key: 'cb/failed.txt',
      url: `${sink.url}/hook?token=[REDACTED]`,
      reason: 'Error status : 500.',
    });
    const requestLine = (): LogLine | undefined =>
      log.lines().find((line) => line.msg === 'request' && line['requestId'] === requestId);
    await eventually(() => requestLine() !== undefined);
    expect(requestLine()).toMatchObject({ status: 203, code: 'CallbackFailed', operation: 'PutObject' });
  });

  it.each([
    ['the level is above info', 'warn', {}],
    ['accessLog is false, whatever the level', 'info', { accessLog: false }],
  ] as const)('writes no request line when %s', async (_case, level, options) => {
    const quiet = capturedLogger(level);
    const other = await startTestServer({ logger: quiet.logger, ...options });
    try {
      const response = await signedRequest(other, { method: 'GET', bucket: other.bucket, key: 'none' });
      expect(response.status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(quiet.lines().filter((line) => line.msg === 'request')).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('/_upcall/metrics', () => {
  let server: TestServer;
  let sink: CallbackSink;

  beforeAll(async () => {
    server = await startTestServer();
    sink = await startCallbackSink();
  });
  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  it('counts real uploads: requests by operation and status, bytes, upload latency, callbacks', async () => {
    const before = await scrape(server);
    const client = ossClient(server);
    const body = Buffer.alloc(10_000, 1);
    for (let i = 0; i < 3; i++) await client.put(`m/${i}.bin`, body);
    const ok = await client.put('m/cb-ok.bin', body, {
      callback: { url: `${sink.url}/ok`, body: 'k=${object}' },
    });
    expect(ok.res.status).toBe(200);
    sink.reply = (_callback, res) => {
      res.writeHead(500, { 'content-length': 0 });
      res.end();
    };
    await expect(
      client.put('m/cb-failed.bin', body, { callback: { url: `${sink.url}/fail`, body: 'k=${object}' } }),
    ).rejects.toMatchObject({ status: 203 });
    await expect(client.get('m/absent')).rejects.toMatchObject({ status: 404 });
    // The counters are updated when each response finishes; the client may see it a moment before.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await scrape(server);

    const delta = (name: string, labels: Record<string, string> = {}): number =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('upcall_http_requests_total', { operation: 'PutObject', status: '200' })).toBe(4);
    expect(delta('upcall_http_requests_total', { operation: 'PutObject', status: '203' })).toBe(1);
    expect(delta('upcall_http_requests_total', { operation: 'GetObject', status: '404' })).toBe(1);
    expect(delta('upcall_http_received_bytes_total', { operation: 'PutObject' })).toBeGreaterThan(5 * 10_000);
    expect(delta('upcall_http_sent_bytes_total', { operation: 'PutObject' })).toBeGreaterThan(0);
    expect(delta('upcall_upload_duration_seconds_count', { operation: 'PutObject' })).toBe(5);
    expect(delta('upcall_callbacks_total', { outcome: 'succeeded' })).toBe(1);
    expect(delta('upcall_callbacks_total', { outcome: 'failed' })).toBe(1);
    expect(delta('upcall_callback_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(sample(after, 'upcall_callbacks_in_flight')).toBe(0);
    // The sink fetched the callback key once: upcall's own path, named as such.
    expect(
      sample(after, 'upcall_http_requests_total', { operation: 'UpcallCallbackPublicKey', status: '200' }),
    ).toBe(1);
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('keeps two servers in one process apart (a registry each)', async () => {
    const other = await startTestServer();
    try {
      await ossClient(other).put('only-here.txt', Buffer.from('x'));
      const mine = await scrape(server);
      const theirs = await scrape(other);
      expect(sample(theirs, 'upcall_http_requests_total', { operation: 'PutObject', status: '200' })).toBe(1);
      expect(sample(mine, 'upcall_http_requests_total', { operation: 'PutObject', status: '200' })).not.toBe(
        1,
      );
    } finally {
      await other.close();
    }
  });

  it('stays an object request on a bucket virtual host, and refuses methods other than GET/HEAD', async () => {
    const client = ossClient(server);
    await client.put('_upcall/metrics', Buffer.from('my object'));
    const object = await client.get('_upcall/metrics');
    expect(object.content.toString()).toBe('my object');

    const post = await rawRequest(server.port, { method: 'POST', path: '/_upcall/metrics' });
    expect(post.status).toBe(405);
    expect(errorCode(post)).toBe('MethodNotAllowed');
    // Other /_upcall/ paths are no bucket either: OSS's answer.
    const other = await rawRequest(server.port, { method: 'GET', path: '/_upcall/nothing' });
    expect(errorCode(other)).toBe('InvalidBucketName');
  });
});

describe('/_upcall/health', () => {
  it('is live and ready, and readiness turns 503 naming the database once it is gone', async () => {
    const server = await startTestServer();
    try {
      const live = await fetch(`${server.url}/_upcall/health/live`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${server.url}/_upcall/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        checks: [
          { name: 'metadata-database', ok: true },
          { name: 'blob-directory', ok: true },
        ],
      });

      await rm(join(server.dataDir, 'meta.sqlite'));
      const gone = await fetch(`${server.url}/_upcall/health/ready`);
      expect(gone.status).toBe(503);
      const report = (await gone.json()) as { status: string; checks: { name: string; ok: boolean }[] };
      expect(report.status).toBe('unavailable');
      expect(report.checks.find((check) => check.name === 'metadata-database')).toMatchObject({
        ok: false,
        reason: expect.stringContaining('meta.sqlite is gone') as unknown,
      });
      // The process itself is fine: liveness does not depend on the data.
      expect((await fetch(`${server.url}/_upcall/health/live`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('secrets in logs', () => {
  it('no log line carries a secret, signature, security token, cookie or callback URL token', async () => {
    const log = capturedLogger('trace');
    const server = await startTestServer({ logger: log.logger });
    const sink = await startCallbackSink();
    sink.reply = (_callback, res) => {
      res.writeHead(502, { 'content-length': 0 });
      res.end();
    };
    try {
      const secrets: string[] = [server.accessKeySecret];
      // Header-signed PUT, with a cookie and a failing callback whose URL carries a token.
      const put = await signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 's/header.txt',
        body: 'x',
        headers: {
          cookie: 'session=cookie-secret-value',
          'x-oss-callback': Buffer.from(
            JSON.stringify({
              callbackUrl: `${sink.url}/cb?token=url-token-value`,
              callbackBody: 'k=${object}',
            }),
          ).toString('base64'),
        },
      });
      expect(put.status).toBe(203);
      // A signature that does not match is logged as an error code, not as what was sent.
      const forged = await rawRequest(server.port, {
        method: 'GET',
        path: `/${server.bucket}/s/header.txt`,
        headers: {
          authorization: `OSS ${server.accessKeyId}:forged-signature-value=`,
          date: new Date().toUTCString(),
        },
      });
      expect(errorCode(forged)).toBe('SignatureDoesNotMatch');
      secrets.push('forged-signature-value', 'cookie-secret-value', 'url-token-value');

      // Temporary credentials: security token in the header (ali-oss), then in a presigned URL.
      const temporary = mintTemporaryCredentials({
        rootAccessKeyId: server.accessKeyId,
        rootAccessKeySecret: server.accessKeySecret,
        policy: {
          bucket: server.bucket,
          prefix: 's/',
          actions: ['GetObject', 'PutObject', 'PostObject'],
          expiresInSeconds: 900,
        },
        now: new Date(),
      });
      secrets.push(temporary.AccessKeySecret, temporary.SecurityToken);
      const sts = pathStyleClient(server, {
        accessKeyId: temporary.AccessKeyId,
        accessKeySecret: temporary.AccessKeySecret,
        stsToken: temporary.SecurityToken,
      });
      await sts.put('s/sts.txt', Buffer.from('y'));
      const presigned = sts.signatureUrl('s/sts.txt', { expires: 600 });
      const query = new URL(presigned).searchParams;
      secrets.push(query.get('Signature') ?? 'missing-signature');
      expect((await fetch(presigned)).status).toBe(200);

      // PostObject: the policy signature and security token travel in the form.
      const bundle = buildPostPolicyBundle({
        credentials: {
          accessKeyId: temporary.AccessKeyId,
          accessKeySecret: temporary.AccessKeySecret,
          securityToken: temporary.SecurityToken,
        },
        host: server.url,
        bucket: server.bucket,
        dir: 's/',
        expiresInSeconds: 300,
        maxSize: 1024,
        now: new Date(),
      });
      secrets.push(bundle.signature);
      const form = new FormData();
      for (const [name, value] of postObjectFormFields(bundle, 's/form.txt')) form.append(name, value);
      form.append('file', new Blob(['z']), 'form.txt');
      const posted = await fetch(`${server.url}/${server.bucket}`, { method: 'POST', body: form });
      expect(posted.status).toBe(200);

      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = log.raw.join('');
      expect(log.lines().filter((line) => line.msg === 'request').length).toBeGreaterThanOrEqual(5);
      expect(text).toContain('upload callback failed');
      for (const secret of secrets) expect(text).not.toContain(secret);
      // The V1 signature of a header-signed request is whatever follows the key id.
      expect(text).not.toMatch(/OSS [^"]+:[A-Za-z0-9+/=]{20,}/);
    } finally {
      await server.close();
      await sink.close();
    }
  });
});
