/**
 * Requests framed with both `Transfer-Encoding: chunked` and `Content-Length` (what ali-oss sends
 * for `put(name, stream, { headers: { 'Content-Length': n } })`; issue 20) are read by their
 * chunked framing and end their connection (RFC 9112 §6.3), and nothing else about request framing
 * got looser: a request smuggled behind one is never served, and every other conflicting framing
 * still gets Node's 400.
 */
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOssError } from '../../../src/shared/oss-error.ts';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { rawRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const OPEN = 'upcall-open';
let server: TestServer;

beforeAll(async () => {
  // A public-read-write bucket: raw requests need no signature, so only framing is under test.
  server = await startTestServer({ bucketsToCreate: [{ name: OPEN, acl: 'public-read-write' }] });
  const victim = await rawRequest(server.port, { method: 'PUT', path: `/${OPEN}/victim`, body: 'keep me' });
  expect(victim.status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

/**
 * Sends `bytes` on a fresh connection and returns everything the server wrote until it closed.
 * The socket is not half-closed: Node aborts in-flight requests when the peer ends its side.
 */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('the server kept the connection open')), 5000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.write(bytes);
  });
}

function statusLines(reply: string): string[] {
  return reply.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];
}

async function exists(key: string): Promise<boolean> {
  try {
    await server.store.headObject(OPEN, key);
    return true;
  } catch (error) {
    if (isOssError(error) && error.code === 'NoSuchKey') return false;
    throw error;
  }
}

describe('Transfer-Encoding: chunked with Content-Length', () => {
  it('ali-oss put of a stream with a Content-Length header stores the object', async () => {
    const client = ossClient(server);
    const body = Buffer.alloc(200_000, 'x');
    const stream = Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]);
    const result = (await client.put('streamed.bin', stream, {
      headers: { 'Content-Length': body.length },
    })) as { res: { status: number } };
    expect(result.res.status).toBe(200);
    const got = (await client.get('streamed.bin')) as { content: Buffer };
    expect(got.content.equals(body)).toBe(true);
  });

  it('answers with Connection: close and closes after the message', async () => {
    const reply = await exchange(
      `PUT /${OPEN}/framed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n` +
        `3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n`,
    );
    expect(statusLines(reply)).toEqual(['HTTP/1.1 200 OK']);
    expect(reply.toLowerCase()).toContain('connection: close');
    const { body } = await server.store.getObject(OPEN, 'framed');
    expect(Buffer.concat(await body.toArray()).toString()).toBe('abcdefg');
  });

  it('never serves a request smuggled behind the chunked body', async () => {
    const reply = await exchange(
      `PUT /${OPEN}/carrier HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `2\r\nok\r\n0\r\n\r\n` +
        `DELETE /${OPEN}/victim HTTP/1.1\r\nHost: x\r\n\r\n` +
        `PUT /${OPEN}/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz`,
    );
    expect(statusLines(reply)).toEqual(['HTTP/1.1 200 OK']);
    expect(await exists('carrier')).toBe(true);
    expect(await exists('victim')).toBe(true);
    expect(await exists('smuggled')).toBe(false);
  });

  it('never serves a request whose bytes the Content-Length would have framed as body', async () => {
    // Read by Content-Length, the first body would swallow the chunk lines; read by chunks it ends
    // early and the rest looks like a request. Neither reading may serve the rest.
    const hidden = `PUT /${OPEN}/smuggled2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz`;
    const reply = await exchange(
      `PUT /${OPEN}/carrier2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n` +
        `Content-Length: ${5 + hidden.length}\r\n\r\n0\r\n\r\n${hidden}`,
    );
    expect(statusLines(reply)).toEqual(['HTTP/1.1 200 OK']);
    expect(await exists('smuggled2')).toBe(false);
  });

  it.each([
    [
      'a duplicated Content-Length',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz`,
    ],
    [
      'chunked with a duplicated Content-Length',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    ],
    [
      'chunked that is not the final coding',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n\r\nz`,
    ],
    [
      'chunked applied twice',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\nContent-Length: 1\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    ],
    [
      'a Content-Length that is not a number',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1x\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    ],
    [
      'a space before the colon',
      `PUT /${OPEN}/dup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 1\r\n\r\nz`,
    ],
    [
      'HTTP/1.0',
      `PUT /${OPEN}/dup HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    ],
  ])('still answers 400 to %s', async (_name, bytes) => {
    const reply = await exchange(bytes);
    expect(statusLines(reply)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(await exists('dup')).toBe(false);
  });

  it('a malformed chunk after a rewritten head is refused, not read past', async () => {
    const reply = await exchange(
      `PUT /${OPEN}/badchunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n` +
        `zz\r\nabc\r\n0\r\n\r\nDELETE /${OPEN}/victim HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(statusLines(reply)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(await exists('badchunk')).toBe(false);
    expect(await exists('victim')).toBe(true);
  });

  it('leaves ordinary keep-alive connections untouched (pipelined requests all answered)', async () => {
    const reply = await exchange(
      `PUT /${OPEN}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na` +
        `GET /${OPEN}/victim HTTP/1.1\r\nHost: x\r\n\r\n` +
        `GET /${OPEN}/victim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(statusLines(reply)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  });
});

describe('connections the guard is still reading', () => {
  it('do not keep close() waiting: one with an incomplete first head is ended like an idle one', async () => {
    const own = await startTestServer();
    const socket = connect(own.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write('PUT /upcall-test/half HTTP/1.1\r\nHost: x\r\n');
    await own.close();
    await closed;
  });

  it('a peer that resets before its head is complete does not take the server down', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('PUT /upcall-open/reset HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await rawRequest(server.port, { method: 'GET', path: `/${OPEN}/victim` });
    expect(after.status).toBe(200);
  });
});
