/**
 * What one TCP connection may do to the storage server, on raw sockets (no HTTP client in between
 * to fix things up): pipelined requests take effect in order, a body cut short by a half-close and
 * a body that stalls both get an OSS error document (IncompleteBody, RequestTimeout) rather than
 * node's bare 400 or a socket held for node's 300 s request timeout.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../helpers/raw-request.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const BODY_TIMEOUT_MS = 600;

let server: TestServer;
let sink: CallbackSink;
beforeAll(async () => {
  server = await startTestServer({ bodyTimeoutMs: BODY_TIMEOUT_MS, callback: { keyBits: 1024 } });
  sink = await startCallbackSink();
});
afterAll(async () => {
  await server.close();
  await sink.close();
});

/** The request head (request line + headers) of a signed path-style request. */
function head(method: string, key: string, headers: Record<string, string> = {}): string {
  const signed = signRequest(server, { method, bucket: server.bucket, key, headers });
  const lines = [`${method} ${signed.path} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`];
  for (const [name, value] of Object.entries(signed.headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw bytes from the socket into complete HTTP/1.1 responses (Content-Length framed). */
function parseResponses(raw: Buffer): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let offset = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', offset);
    if (end === -1) return responses;
    const lines = raw.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (raw.length < end + 4 + length) return responses;
    responses.push({ status, headers, body: raw.subarray(end + 4, end + 4 + length).toString('utf8') });
    offset = end + 4 + length;
  }
}

/** Opens a connection that collects everything the server sends until it closes. */
async function open(): Promise<{ socket: Socket; closed: Promise<Buffer> }> {
  const socket = connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<Buffer>((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
  return { socket, closed };
}

describe('one connection', () => {
  it('runs pipelined requests in order: a GET after a PUT of the same key sees the PUT', async () => {
    const body = Buffer.alloc(256 * 1024, 'p');
    const key = `pipelined-${Date.now()}.bin`;
    const { socket, closed } = await open();
    // Both requests in one write: node parses the GET while the PUT is still being stored.
    socket.write(
      Buffer.concat([
        Buffer.from(head('PUT', key, { 'content-length': String(body.length) })),
        body,
        Buffer.from(head('GET', key, { connection: 'close' })),
      ]),
    );
    const responses = parseResponses(await closed);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(responses[1]?.body).toBe(body.toString());
  });

  it('does not time out a pipelined body that waits while the request ahead of it runs long', async () => {
    // The first upload's callback takes longer than the body timeout; the second upload's body
    // sits unread behind it meanwhile. That is the server being busy, not the client stalling.
    sink.reply = (callback, res) => setTimeout(() => okReply(callback, res), BODY_TIMEOUT_MS * 2.5);
    try {
      const callback = Buffer.from(
        JSON.stringify({ callbackUrl: `${sink.url}/cb`, callbackBody: 'object=${object}' }),
      ).toString('base64');
      const second = Buffer.alloc(1024 * 1024, 'b');
      const { socket, closed } = await open();
      socket.write(
        Buffer.concat([
          Buffer.from(
            head('PUT', 'slow-callback.txt', { 'content-length': '1', 'x-oss-callback': callback }),
          ),
          Buffer.from('a'),
          Buffer.from(
            head('PUT', 'behind.bin', { 'content-length': String(second.length), connection: 'close' }),
          ),
          second,
        ]),
      );
      const responses = parseResponses(await closed);
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      expect(responses[0]?.body).toContain('"Status":"OK"');
      expect((await server.store.headObject(server.bucket, 'behind.bin')).size).toBe(second.length);
    } finally {
      sink.reply = okReply;
    }
  });

  it('answers a body cut short by a half-close with IncompleteBody in OSS XML', async () => {
    const { socket, closed } = await open();
    socket.write(head('PUT', 'half-closed.txt', { 'content-length': '100' }));
    socket.write(Buffer.alloc(50, 'h'));
    socket.end();
    const [response] = parseResponses(await closed);
    expect(response?.status).toBe(400);
    expect(response?.headers['content-type']).toBe('application/xml');
    expect(response?.body).toContain('<Code>IncompleteBody</Code>');
    expect(response?.body).toContain(
      '<Message>You did not provide the number of bytes specified by the Content-Length HTTP header.</Message>',
    );
    expect(response?.headers['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);
  });

  it(
    'answers a stalled body with RequestTimeout in OSS XML within the body timeout, and closes',
    { timeout: 10_000 },
    async () => {
      const { socket, closed } = await open();
      const started = Date.now();
      socket.write(head('PUT', 'stalled.txt', { 'content-length': '100' }));
      socket.write(Buffer.alloc(50, 's'));
      // Nothing more is sent, and the connection stays open from this side.
      const [response] = parseResponses(await closed);
      const elapsed = Date.now() - started;
      expect(response?.status).toBe(400);
      expect(response?.body).toContain('<Code>RequestTimeout</Code>');
      expect(response?.body).toContain(
        '<Message>Your socket connection to the server was not read from or written to within the timeout period.</Message>',
      );
      expect(elapsed).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(BODY_TIMEOUT_MS + 3000);
      socket.destroy();
      // Nothing of the stalled upload was stored.
      await expect(server.store.headObject(server.bucket, 'stalled.txt')).rejects.toMatchObject({
        code: 'NoSuchKey',
      });
    },
  );

  it('keeps a connection whose body arrives slowly but steadily, and serves its next request', async () => {
    const { socket, closed } = await open();
    socket.write(head('PUT', 'slow.txt', { 'content-length': '8' }));
    // Each byte comes well within the idle timeout; the whole body takes longer than it.
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, BODY_TIMEOUT_MS / 4));
      socket.write('s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write(head('GET', 'slow.txt', { connection: 'close' }));
    const responses = parseResponses(await closed);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(responses[1]?.body).toBe('ssssssss');
  });
});
