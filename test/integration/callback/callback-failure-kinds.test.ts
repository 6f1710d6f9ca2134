// Each SPEC.md §5.2 failure kind as the uploading client sees it from the real server: a signed
// PutObject whose app server misbehaves gets 203 CallbackFailed XML with the verbatim Message
// (and EC where OSS gives one) while the object is stored; with several URLs the next one is
// tried and the first success wins (§4).
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
const apps: Server[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 1500, maxReplyBytes: 64 } });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(apps.map((app) => new Promise<void>((resolve) => app.close(() => resolve()))));
  await server.close();
});

/**
 * An app server answering every request with `reply` verbatim once the request has arrived;
 * `null` never answers, '' closes without a reply.
 */
async function rawApp(reply: string | null): Promise<string> {
  const app = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let seen = '';
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      const head = seen.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(seen.slice(0, head))?.[1] ?? 0);
      if (seen.length - head - 4 < length || reply === null) return;
      if (reply === '') socket.destroy();
      else socket.end(reply);
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  apps.push(app);
  return `http://127.0.0.1:${(app.address() as AddressInfo).port}/cb`;
}

async function refusedUrl(): Promise<string> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/cb`;
}

const ok = (body: string, status = '200 OK'): string =>
  `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

async function upload(key: string, callbackUrl: string) {
  const callback = Buffer.from(JSON.stringify({ callbackUrl, callbackBody: 'object=${object}' })).toString(
    'base64',
  );
  const res = await signedRequest(server, {
    method: 'PUT',
    bucket: server.bucket,
    key,
    headers: { 'content-type': 'text/plain', 'x-oss-callback': callback },
    body: `content of ${key}`,
  });
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(res.text)?.[1];
  return { res, code: field('Code'), message: field('Message'), ec: field('EC') };
}

const KINDS: { name: string; url: () => Promise<string>; message: string | RegExp; ec?: string }[] = [
  {
    name: 'non-200 status',
    url: () => rawApp(ok('{"e":1}', '400 Bad Request')),
    message: 'Error status : 400.',
    ec: '0007-00000203',
  },
  {
    name: 'redirect (not followed)',
    url: () => rawApp('HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n'),
    message: 'Error status : 301.',
    ec: '0007-00000203',
  },
  {
    name: 'refused connection',
    url: refusedUrl,
    message: 'Error status : -1.OSS can not connect to your callbackUrl, please check it.',
  },
  {
    name: 'closed without a reply',
    url: () => rawApp(''),
    message: 'Error status : 502.',
    ec: '0007-00000203',
  },
  {
    name: 'reply timeout',
    url: () => rawApp(null),
    message: /^Error status : -1 127\.0\.0\.1:\d+ reply timeout, cost:\d+ms, timeout:1500ms$/,
    ec: '0007-00000202',
  },
  {
    name: 'body not JSON',
    url: () => rawApp(ok('OK')),
    message: 'Response body is not valid json format.',
    ec: '0007-00000205',
  },
  {
    name: 'JSON behind a BOM',
    url: () => rawApp(ok('\uFEFF{"Status":"OK"}')),
    message: 'Response body is not valid json format.',
    ec: '0007-00000205',
  },
  {
    name: 'missing Content-Length (chunked)',
    url: () => rawApp('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'),
    message: 'Error Status : 400.User server missing content-length.',
  },
  {
    name: 'invalid Content-Length',
    url: () => rawApp('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}'),
    message: 'Error Status : 400.User server return invalid conent-length value.',
  },
  {
    name: 'Content-Length over the cap',
    url: () => rawApp(ok(JSON.stringify({ pad: 'x'.repeat(100) }))),
    message: 'Error Status : 400.User server return too long content-length value.',
  },
];

describe('callback failure kinds through the server (SPEC.md §5.2)', () => {
  it.each(KINDS)('$name → 203 with its message; the object is stored', async (kind) => {
    const key = `kinds/${kind.name}.txt`;
    const { res, code, message, ec } = await upload(key, await kind.url());
    expect(res.status, res.text).toBe(203);
    expect(code).toBe('CallbackFailed');
    if (typeof kind.message === 'string') expect(message).toBe(kind.message);
    else expect(message).toMatch(kind.message);
    expect(ec).toBe(kind.ec);
    const { object } = await server.store.getObject(server.bucket, key);
    expect(object.size).toBe(Buffer.byteLength(`content of ${key}`));
  });

  it('tries the URLs in order: a refused and a failing URL, then one that answers', async () => {
    const urls = [await refusedUrl(), await rawApp(ok('{}', '500 Oops')), await rawApp(ok('{"n":3}'))];
    const { res } = await upload('kinds/failover.txt', urls.join(';'));
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('{"n":3}');
  });

  it('when every URL fails, the last failure is reported', async () => {
    const urls = [await rawApp(ok('{}', '500 Oops')), await refusedUrl()];
    const { res, message } = await upload('kinds/all-fail.txt', urls.join(';'));
    expect(res.status).toBe(203);
    expect(message).toBe('Error status : -1.OSS can not connect to your callbackUrl, please check it.');
  });
});
