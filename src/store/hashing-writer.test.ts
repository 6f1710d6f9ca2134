import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc64 } from '../shared/crc64.ts';
import { isOssError } from '../shared/oss-error.ts';
import { chunkSink, receiveBody, type BodySink } from './hashing-writer.ts';

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
});
