// The callback dispatcher against real sockets: well-behaved and misbehaving app servers on
// 127.0.0.1:0, failover, every §5.2 failure message, and an independent verifier written from
// SPEC.md §1.1/§4 alone (it does not import src/callback).
import { createHash, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackSpec } from '../../../src/callback/parse-callback.ts';
import type { UploadFacts } from '../../../src/callback/render-callback-body.ts';
import { assertPublicCallbackAddresses } from '../../../src/server/callback/callback-address-guard.ts';
import {
  createCallbackDispatcher,
  type CallbackDispatcher,
} from '../../../src/server/callback/callback-dispatcher.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const KEY_URL = 'http://127.0.0.1:1/callback_pub_key_v1.pem';

const FACTS: UploadFacts = {
  bucket: 'photos',
  object: 'dir/照片 1.jpg',
  etag: 'D8E8FCA2DC0F896FD7CB4CB0031BA249',
  size: 1234,
  mimeType: 'image/jpeg',
  imageInfo: { width: 200, height: 278, format: 'jpg' },
  crc64: '12345678901234567890',
  contentMd5: 'G5H/anNzgdvMS2AsvXpi6A==',
  clientIp: '127.0.0.1',
  reqId: '5CF3E7821AB22D0FDB86704D',
  operation: 'PutObject',
};

interface Received {
  method: string;
  target: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** The independent verifier: SPEC.md §1.1 string-to-sign, RSA-MD5, plus the §4 header facts. */
function verifyIndependently(request: Received, key: KeyObject, keyUrl: string): void {
  const q = request.target.indexOf('?');
  const path = q === -1 ? request.target : request.target.slice(0, q);
  const query = q === -1 ? '' : request.target.slice(q);
  const toSign = Buffer.concat([Buffer.from(`${decodeURIComponent(path)}${query}\n`, 'utf8'), request.body]);
  const authorization = request.headers['authorization'];
  expect(typeof authorization).toBe('string');
  const verifier = createVerify('RSA-MD5');
  verifier.update(toSign);
  expect(verifier.verify(key, authorization as string, 'base64')).toBe(true);
  expect(request.method).toBe('POST');
  expect(request.headers['content-md5']).toBe(createHash('md5').update(request.body).digest('base64'));
  expect(Number(request.headers['content-length'])).toBe(request.body.length);
  expect(Buffer.from(request.headers['x-oss-pub-key-url'] as string, 'base64').toString()).toBe(keyUrl);
  expect(request.headers['x-oss-signature-version']).toBe('1.0');
  expect(request.headers['x-oss-tag']).toBe('CALLBACK');
  expect(request.headers['user-agent']).toBe('aliyun-oss-callback');
  expect(request.headers['x-oss-bucket']).toBe(FACTS.bucket);
  expect(request.headers['connection']).not.toBe('close');
}

type Reply = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** An app server that records what it got and answers with `reply`. */
async function appServer(reply: Reply): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers, body });
      reply(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/**
 * A raw TCP server that answers every request with the given bytes (for malformed replies), then
 * closes the connection, or with `stall` keeps it open without another byte.
 */
async function rawServer(
  response: string | null,
  { stall = false } = {},
): Promise<{ url: string; server: NetServer }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (response !== null && stall) socket.write(response);
      else if (response !== null) socket.end(response);
      // null: accept and never answer (the timeout case)
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Closing must not wait for a stalled connection.
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const json = (status: number, text: string): Reply => {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
};

function spec(urls: string[], overrides: Partial<CallbackSpec> = {}): CallbackSpec {
  return {
    urls: urls.map((u) => new URL(u)),
    body: 'bucket=${bucket}&object=${object}&size=${size}&var=${x:var}',
    bodyType: 'application/x-www-form-urlencoded',
    sni: false,
    vars: { 'x:var': 'välue ✓' },
    ...overrides,
  };
}

const servers: { close: (cb: () => void) => unknown }[] = [];
let dispatcher: CallbackDispatcher;
const TIMEOUT_MS = 1500;

beforeAll(() => {
  dispatcher = createCallbackDispatcher({
    privateKey,
    keyUrl: KEY_URL,
    owner: '1050784833268046',
    now: () => new Date('2019-06-02T15:13:06Z'),
    // Short enough for the timeout cases, long enough that a loaded CI machine (the first test
    // files start while everything else is still loading) answers a healthy app server in time.
    timeoutMs: TIMEOUT_MS,
    maxReplyBytes: 64,
  });
});

afterAll(async () => {
  await dispatcher.close();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function track<T extends { server: { close: (cb: () => void) => unknown } }>(
  p: Promise<T>,
): Promise<T> {
  const value = await p;
  servers.push(value.server);
  return value;
}

async function failureMessage(callback: CallbackSpec): Promise<{ message: string; ec: string | undefined }> {
  const outcome = await dispatcher.dispatch(callback, FACTS, { requestId: 'AAAABBBBCCCCDDDDEEEEFFFF' });
  if (outcome.ok) throw new Error('expected the callback to fail');
  expect(outcome.error.code).toBe('CallbackFailed');
  expect(outcome.error.status).toBe(203);
  return { message: outcome.error.message, ec: outcome.error.details['EC'] };
}

describe('callback dispatcher', () => {
  it('sends a signed form callback that an independent verifier accepts, and returns the reply', async () => {
    const app = await track(appServer(json(200, '{"Status":"OK"}')));
    const outcome = await dispatcher.dispatch(spec([`${app.url}/cb/回调?id=1&x=a%20b`]), FACTS, {
      requestId: 'AAAABBBBCCCCDDDDEEEEFFFF',
    });
    expect(outcome).toMatchObject({ ok: true });
    if (!outcome.ok) return;
    expect(outcome.body.toString()).toBe('{"Status":"OK"}');
    const [request] = app.received;
    expect(request).toBeDefined();
    verifyIndependently(request!, publicKey, KEY_URL);
    expect(request!.target).toBe('/cb/%E5%9B%9E%E8%B0%83?id=1&x=a%20b');
    expect(request!.headers['host']).toBe(new URL(app.url).host);
    expect(request!.headers['x-oss-request-id']).toBe('AAAABBBBCCCCDDDDEEEEFFFF');
    expect(request!.headers['x-oss-owner']).toBe('1050784833268046');
    expect(request!.headers['date']).toBe('Sun, 02 Jun 2019 15:13:06 GMT');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.body.toString()).toBe(
      'bucket=photos&object=dir%2F%E7%85%A7%E7%89%87%201.jpg&size=1234&var=v%C3%A4lue%20%E2%9C%93',
    );
  });

  it('sends JSON bodies with unicode, without a query, and callbackHost as Host', async () => {
    const app = await track(appServer(json(200, '{"ok":true}')));
    const outcome = await dispatcher.dispatch(
      spec([`${app.url}`], {
        body: '{"object":${object},"size":${size},"w":${imageInfo.width},"v":${x:var}}',
        bodyType: 'application/json',
        host: 'app.example.com',
      }),
      FACTS,
      { requestId: 'AAAABBBBCCCCDDDDEEEEFFFF' },
    );
    expect(outcome).toMatchObject({ ok: true });
    const [request] = app.received;
    verifyIndependently(request!, publicKey, KEY_URL);
    expect(request!.target).toBe('/');
    expect(request!.headers['host']).toBe('app.example.com');
    expect(JSON.parse(request!.body.toString())).toEqual({
      object: 'dir/照片 1.jpg',
      size: 1234,
      w: 200,
      v: 'välue ✓',
    });
  });

  it('reuses the connection for consecutive callbacks (keep-alive)', async () => {
    const app = await track(appServer(json(200, '{}')));
    const ports = new Set<number>();
    app.server.on('connection', (socket) => ports.add(socket.remotePort ?? 0));
    for (let i = 0; i < 3; i++) {
      const outcome = await dispatcher.dispatch(spec([`${app.url}/k`]), FACTS, { requestId: 'R' });
      expect(outcome).toMatchObject({ ok: true });
    }
    expect(app.received).toHaveLength(3);
    expect(ports.size).toBe(1);
  });

  it('reports a non-200 status, including a redirect that is not followed', async () => {
    const redirect = await track(
      appServer((_req, res) => {
        res.writeHead(301, { location: 'http://127.0.0.1:1/', 'content-length': 0 });
        res.end();
      }),
    );
    expect(await failureMessage(spec([redirect.url]))).toEqual({
      message: 'Error status : 301.',
      ec: '0007-00000203',
    });
    const broken = await track(appServer(json(500, '{"e":1}')));
    expect(await failureMessage(spec([broken.url]))).toEqual({
      message: 'Error status : 500.',
      ec: '0007-00000203',
    });
    const created = await track(appServer(json(201, '{}')));
    expect((await failureMessage(spec([created.url]))).message).toBe('Error status : 201.');
  });

  it('keeps the connection after a small error reply, closes it after a large one', async () => {
    const ports: number[] = [];
    let big = false;
    const app = await track(
      appServer((_req, res) => {
        const text = big ? 'x'.repeat(200 * 1024) : '{"e":1}';
        res.writeHead(500, { 'content-type': 'text/plain', 'content-length': text.length });
        res.end(text);
      }),
    );
    app.server.on('connection', (socket) => ports.push(socket.remotePort ?? 0));
    expect((await failureMessage(spec([app.url]))).message).toBe('Error status : 500.');
    expect((await failureMessage(spec([app.url]))).message).toBe('Error status : 500.');
    expect(ports).toHaveLength(1);
    // A body past 64 KiB is not read to its end: the connection is closed instead.
    big = true;
    expect((await failureMessage(spec([app.url]))).message).toBe('Error status : 500.');
    big = false;
    expect((await failureMessage(spec([app.url]))).message).toBe('Error status : 500.');
    expect(ports.length).toBeGreaterThan(1);
  });

  it('reports a refused connection', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(await failureMessage(spec([`http://127.0.0.1:${port}/`]))).toEqual({
      message: 'Error status : -1.OSS can not connect to your callbackUrl, please check it.',
      ec: undefined,
    });
  });

  it('reports a reply timeout with host:port and the deadline', async () => {
    const hang = await track(rawServer(null));
    const { message, ec } = await failureMessage(spec([hang.url]));
    const port = new URL(hang.url).port;
    expect(message).toMatch(
      new RegExp(
        `^Error status : -1 127\\.0\\.0\\.1:${port} reply timeout, cost:\\d+ms, timeout:${TIMEOUT_MS}ms$`,
      ),
    );
    expect(ec).toBe('0007-00000202');
  });

  it('refuses a chunked reply without Content-Length', async () => {
    const chunked = await track(
      appServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"Status"');
        res.end(':"OK"}');
      }),
    );
    expect(await failureMessage(spec([chunked.url]))).toEqual({
      message: 'Error Status : 400.User server missing content-length.',
      ec: undefined,
    });
  });

  it('refuses an invalid or too long Content-Length', async () => {
    const zero = await track(rawServer('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect((await failureMessage(spec([zero.url]))).message).toBe(
      'Error Status : 400.User server return invalid conent-length value.',
    );
    const garbage = await track(rawServer('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}'));
    expect((await failureMessage(spec([garbage.url]))).message).toBe(
      'Error Status : 400.User server return invalid conent-length value.',
    );
    const short = await track(rawServer('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}'));
    expect((await failureMessage(spec([short.url]))).message).toBe(
      'Error Status : 400.User server return invalid conent-length value.',
    );
    const long = await track(appServer(json(200, JSON.stringify({ pad: 'x'.repeat(100) }))));
    expect((await failureMessage(spec([long.url]))).message).toBe(
      'Error Status : 400.User server return too long content-length value.',
    );
  });

  it('reports a reply that stalls in its body as a timeout', async () => {
    const stall = await track(
      rawServer('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{"Sta', { stall: true }),
    );
    expect((await failureMessage(spec([stall.url]))).message).toMatch(
      new RegExp(`reply timeout, cost:\\d+ms, timeout:${TIMEOUT_MS}ms$`),
    );
  });

  it('refuses a body that is not JSON, or JSON behind a BOM', async () => {
    const text = await track(appServer(json(200, 'OK')));
    expect(await failureMessage(spec([text.url]))).toEqual({
      message: 'Response body is not valid json format.',
      ec: '0007-00000205',
    });
    const bom = await track(appServer(json(200, '\uFEFF{"Status":"OK"}')));
    expect((await failureMessage(spec([bom.url]))).message).toBe('Response body is not valid json format.');
    // JSON in shape, but the string holds a byte that is not UTF-8 (Latin-1 "é").
    const latin1 = Buffer.from('{"name":"caf\xe9"}', 'latin1');
    const notUtf8 = await track(
      appServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': latin1.length });
        res.end(latin1);
      }),
    );
    expect((await failureMessage(spec([notUtf8.url]))).message).toBe(
      'Response body is not valid json format.',
    );
    const utf8 = await track(appServer(json(200, '{"name":"café 中"}')));
    const outcome = await dispatcher.dispatch(spec([utf8.url]), FACTS, { requestId: 'R' });
    expect(outcome.ok && outcome.body.toString('utf8')).toBe('{"name":"café 中"}');
  });

  it('reports a connection closed before any reply as 502', async () => {
    const rude = await track(rawServer(''));
    expect(await failureMessage(spec([rude.url]))).toEqual({
      message: 'Error status : 502.',
      ec: '0007-00000203',
    });
  });

  it('fails over to the next URL, and reports the last failure when all fail', async () => {
    const bad = await track(appServer(json(500, '{}')));
    const good = await track(appServer(json(200, '{"from":"good"}')));
    const outcome = await dispatcher.dispatch(spec([bad.url, `${good.url}/second?q=1`]), FACTS, {
      requestId: 'R',
    });
    expect(outcome).toMatchObject({ ok: true });
    if (outcome.ok) {
      expect(outcome.body.toString()).toBe('{"from":"good"}');
      expect(outcome.url.pathname).toBe('/second');
    }
    expect(bad.received).toHaveLength(1);
    verifyIndependently(good.received[0]!, publicKey, KEY_URL);
    expect(good.received[0]!.target).toBe('/second?q=1');

    const notJson = await track(appServer(json(200, 'nope')));
    expect((await failureMessage(spec([bad.url, notJson.url]))).message).toBe(
      'Response body is not valid json format.',
    );
    expect((await failureMessage(spec([notJson.url, bad.url]))).message).toBe('Error status : 500.');
  });
});

describe('private-address switch', () => {
  it('refuses private callback URLs before storing, and at connect time', async () => {
    await expect(assertPublicCallbackAddresses(spec(['http://192.168.1.1/cb']), '{}')).rejects.toMatchObject({
      code: 'InvalidArgument',
      status: 400,
      message: 'Private address is forbidden to callback.',
      details: { ArgumentName: 'callback', ArgumentValue: '{}', EC: '0007-00000008' },
    });
    await expect(assertPublicCallbackAddresses(spec(['http://localhost:1/cb']), '{}')).rejects.toMatchObject({
      message: 'Private address is forbidden to callback.',
    });
    await expect(assertPublicCallbackAddresses(spec(['http://8.8.8.8/cb']), '{}')).resolves.toBeUndefined();

    const app = await track(appServer(json(200, '{}')));
    const strict = createCallbackDispatcher({
      privateKey,
      keyUrl: KEY_URL,
      owner: 'o',
      now: () => new Date(),
      timeoutMs: TIMEOUT_MS,
      forbidPrivateAddresses: true,
    });
    try {
      const outcome = await strict.dispatch(
        spec([app.url, app.url.replace('127.0.0.1', 'localhost')]),
        FACTS,
        {
          requestId: 'R',
        },
      );
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error.message).toBe(
          'Error status : -1.OSS can not connect to your callbackUrl, please check it.',
        );
      }
      expect(app.received).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});

describe('https callbacks', () => {
  it('sends SNI only with callbackSNI, and refuses an untrusted certificate by default', async () => {
    const fixtures = new URL('../../fixtures/keys/', import.meta.url);
    const tls = {
      key: await readFile(new URL('callback-tls-test-key.pem', fixtures)),
      cert: await readFile(new URL('callback-tls-test-cert.pem', fixtures)),
    };
    const servernames: (string | false)[] = [];
    const server = createHttpsServer(tls, (req, res) => {
      servernames.push((req.socket as TLSSocket).servername ?? false);
      req.resume();
      req.on('end', () => json(200, '{"tls":true}')(req, res, Buffer.alloc(0)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `https://localhost:${(server.address() as AddressInfo).port}/tls`;

    const lenient = createCallbackDispatcher({
      privateKey,
      keyUrl: KEY_URL,
      owner: 'o',
      now: () => new Date(),
      timeoutMs: 2000,
      rejectUnauthorized: false,
    });
    try {
      const plain = await lenient.dispatch(spec([url]), FACTS, { requestId: 'R' });
      expect(plain.ok).toBe(true);
      const withSni = await lenient.dispatch(spec([url], { sni: true }), FACTS, { requestId: 'R' });
      expect(withSni.ok).toBe(true);
      if (withSni.ok) expect(withSni.body.toString()).toBe('{"tls":true}');
      expect(servernames).toEqual([false, 'localhost']);
    } finally {
      await lenient.close();
    }
    // The shared dispatcher verifies certificates: a self-signed one fails the handshake.
    expect(await failureMessage(spec([url]))).toEqual({
      message: 'Error status : 502.',
      ec: '0007-00000203',
    });
  });
});

describe('independent verifier, property-based', () => {
  it('accepts every callback sent, for random unicode keys, values, paths and queries', async () => {
    const app = await track(appServer(json(200, '{"Status":"OK"}')));
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.array(segment, { maxLength: 3 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9=&+%-]{1,12}$/), { nil: undefined }),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json') as fc.Arbitrary<
          CallbackSpec['bodyType']
        >,
        async (key, value, segments, query, bodyType) => {
          app.received.length = 0;
          const path = segments.map((s) => encodeURIComponent(s)).join('/');
          const url = `${app.url}/${path}${query === undefined ? '' : `?${query}`}`;
          const body =
            bodyType === 'application/json'
              ? '{"o":${object},"v":${x:v},"s":${size}}'
              : 'o=${object}&v=${x:v}';
          const outcome = await dispatcher.dispatch(
            spec([url], { body, bodyType, vars: { 'x:v': value } }),
            { ...FACTS, object: key },
            { requestId: 'R' },
          );
          expect(outcome).toMatchObject({ ok: true });
          expect(app.received).toHaveLength(1);
          verifyIndependently(app.received[0]!, publicKey, KEY_URL);
          if (bodyType === 'application/json') {
            expect(JSON.parse(app.received[0]!.body.toString())).toEqual({ o: key, v: value, s: FACTS.size });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
