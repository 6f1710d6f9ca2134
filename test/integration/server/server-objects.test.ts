/**
 * PutObject, GetObject, HeadObject, GetObjectMeta and DeleteObject driven through the official
 * ali-oss SDK against a real server (virtual-host style: bucket in Host, IP endpoint).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import { ossClient, pathStyleClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

describe.each(['fs', 'memory'] as const)('on the %s store', (backend) => {
  let server: TestServer;
  let client: AliOssClient;

  beforeAll(async () => {
    server = await startTestServer({ backend });
    client = ossClient(server);
  });
  afterAll(async () => {
    await server.close();
  });

  function md5Hex(data: Buffer | string): string {
    return createHash('md5').update(data).digest('hex').toUpperCase();
  }

  async function readAll(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  describe('PutObject / GetObject through ali-oss', () => {
    it('stores a buffer and returns it with the quoted upper-case MD5 ETag, CRC64 and request id', async () => {
      const body = Buffer.from('hello, upcall');
      const put = await client.put('greeting.txt', body);
      expect(put.res.status).toBe(200);
      expect(put.res.headers.etag).toBe(`"${md5Hex(body)}"`);
      expect(put.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(body).toString());
      expect(put.res.headers['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);

      const got = await client.get('greeting.txt');
      expect(got.res.status).toBe(200);
      expect(Buffer.from(got.content).equals(body)).toBe(true);
      expect(got.res.headers['content-type']).toBe('text/plain');
      expect(got.res.headers.server).toBe('AliyunOSS');
      expect(got.res.headers.date).toBeDefined();
    });

    it('streams with putStream (chunked) and getStream', async () => {
      const data = Buffer.alloc(300_000, 7);
      for (let i = 0; i < data.length; i += 997) data[i] = i % 251;
      const put = await client.putStream(
        'stream/big.bin',
        Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      );
      expect(put.res.status).toBe(200);
      const got = await client.getStream('stream/big.bin');
      expect(got.res.status).toBe(200);
      expect((await readAll(got.stream as Readable)).equals(data)).toBe(true);
    });

    it('serves ranges: closed, open, suffix, clamped', async () => {
      await client.put('range.txt', Buffer.from('0123456789'));
      const cases: [string, number, string, string][] = [
        ['bytes=2-5', 206, '2345', 'bytes 2-5/10'],
        ['bytes=7-', 206, '789', 'bytes 7-9/10'],
        ['bytes=-3', 206, '789', 'bytes 7-9/10'],
        ['bytes=8-100', 206, '89', 'bytes 8-9/10'],
      ];
      for (const [range, status, text, contentRange] of cases) {
        const got = await client.get('range.txt', { headers: { Range: range } });
        expect(got.res.status, range).toBe(status);
        expect(Buffer.from(got.content).toString(), range).toBe(text);
        expect(got.res.headers['content-range'], range).toBe(contentRange);
      }
      const stream = await client.getStream('range.txt', { headers: { Range: 'bytes=1-2' } });
      expect(stream.res.status).toBe(206);
      expect((await readAll(stream.stream as Readable)).toString()).toBe('12');
    });

    it('ignores ranges OSS ignores (multiple ranges, bad syntax) and refuses unsatisfiable ones', async () => {
      for (const range of ['bytes=0-1,4-5', 'bytes=abc', 'items=0-1', 'bytes=5-2']) {
        const got = await client.get('range.txt', { headers: { Range: range } });
        expect(got.res.status, range).toBe(200);
        expect(Buffer.from(got.content).toString(), range).toBe('0123456789');
      }
      await expect(client.get('range.txt', { headers: { Range: 'bytes=10-20' } })).rejects.toMatchObject({
        status: 416,
        code: 'InvalidRange',
      });
    });

    it('keeps Content-Type, Content-Disposition, Cache-Control, Expires, Content-Encoding and x-oss-meta-*', async () => {
      await client.put('meta/report', Buffer.from('x'), {
        mime: 'application/vnd.upcall+json',
        headers: {
          'Content-Disposition': 'attachment; filename="r.json"',
          'Cache-Control': 'no-cache',
          Expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
          'Content-Encoding': 'identity',
        },
        meta: { owner: 'alice', Project: 'Upcall' },
      });
      const head = await client.head('meta/report');
      expect(head.status).toBe(200);
      expect(head.meta).toEqual({ owner: 'alice', project: 'Upcall' });
      const h = head.res.headers;
      expect(h['content-type']).toBe('application/vnd.upcall+json');
      expect(h['content-disposition']).toBe('attachment; filename="r.json"');
      expect(h['cache-control']).toBe('no-cache');
      expect(h['expires']).toBe('Wed, 21 Oct 2026 07:28:00 GMT');
      expect(h['content-length']).toBe('1');
      expect(h['x-oss-object-type']).toBe('Normal');
    });

    it('derives Content-Type from the key extension when the client sends none', async () => {
      await client.put('pics/cat.png', Buffer.from('not really a png'));
      expect((await client.head('pics/cat.png')).res.headers['content-type']).toBe('image/png');
      await client.put('noext', Buffer.from('x'));
      expect((await client.head('noext')).res.headers['content-type']).toBe('application/octet-stream');
    });

    it('applies response-* overrides on GET', async () => {
      const got = await client.get('greeting.txt', {
        subres: {
          'response-content-type': 'application/x-test',
          'response-content-disposition': 'attachment; filename="g.txt"',
        },
      });
      expect(got.res.headers['content-type']).toBe('application/x-test');
      expect(got.res.headers['content-disposition']).toBe('attachment; filename="g.txt"');
    });

    it('answers conditional GETs with 304 and 412', async () => {
      const head = await client.head('greeting.txt');
      const etag = head.res.headers.etag as string;
      const lastModified = head.res.headers['last-modified'] as string;
      const notModified = await client.get('greeting.txt', { headers: { 'If-None-Match': etag } });
      expect(notModified.res.status).toBe(304);
      const since = await client.get('greeting.txt', { headers: { 'If-Modified-Since': lastModified } });
      expect(since.res.status).toBe(304);
      const match = await client.get('greeting.txt', { headers: { 'If-Match': etag } });
      expect(match.res.status).toBe(200);
      await expect(client.get('greeting.txt', { headers: { 'If-Match': '"0000"' } })).rejects.toMatchObject({
        status: 412,
        code: 'PreconditionFailed',
      });
      await expect(
        client.get('greeting.txt', { headers: { 'If-Unmodified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT' } }),
      ).rejects.toMatchObject({ status: 412, code: 'PreconditionFailed' });
    });

    it('reports GetObjectMeta: ETag, size, Last-Modified', async () => {
      const meta = await client.getObjectMeta('greeting.txt');
      expect(meta.status).toBe(200);
      expect(meta.res.headers.etag).toBe(`"${md5Hex('hello, upcall')}"`);
      expect(meta.res.headers['content-length']).toBe('13');
      expect(meta.res.headers['last-modified']).toBeDefined();
      expect(meta.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(Buffer.from('hello, upcall')).toString());
    });

    it('deletes idempotently; a deleted key is NoSuchKey on GET and HEAD', async () => {
      await client.put('gone.txt', Buffer.from('bye'));
      expect((await client.delete('gone.txt')).res.status).toBe(204);
      expect((await client.delete('gone.txt')).res.status).toBe(204);
      await expect(client.get('gone.txt')).rejects.toMatchObject({ status: 404, code: 'NoSuchKey' });
      await expect(client.head('gone.txt')).rejects.toMatchObject({ status: 404, code: 'NoSuchKey' });
    });

    it('round-trips keys with spaces, +, %, unicode, ? and # and trailing slashes', async () => {
      const keys = ['a b+c%20d', '目录/文件 1.txt', 'dir/', 'emoji 😀', "q?x=1&y#z'"];
      for (const key of keys) {
        await client.put(key, Buffer.from(`body of ${key}`));
        const got = await client.get(key);
        expect(Buffer.from(got.content).toString(), key).toBe(`body of ${key}`);
      }
    });

    it('keeps dot segments in keys byte for byte (raw HTTP: the URL library under ali-oss normalises them)', async () => {
      for (const key of ['../x/./y', '..', './a', 'a/..']) {
        const put = await signedRequest(server, {
          method: 'PUT',
          bucket: server.bucket,
          key,
          body: `dots ${key}`,
        });
        expect(put.status, key).toBe(200);
        const got = await signedRequest(server, { method: 'GET', bucket: server.bucket, key });
        expect(got.text, key).toBe(`dots ${key}`);
      }
      expect(
        Buffer.from((await client.get('x/y').catch(() => ({ content: 'absent' }))).content).toString(),
      ).toBe('absent');
    });

    it('accepts a key of exactly 1023 bytes', async () => {
      const key = `${'长'.repeat(340)}abc`; // 340 × 3 + 3 = 1023 bytes
      expect(Buffer.byteLength(key)).toBe(1023);
      await client.put(key, Buffer.from('longest'));
      expect(Buffer.from((await client.get(key)).content).toString()).toBe('longest');
    });

    it('replaces an object whole on a second PUT', async () => {
      await client.put('replace.txt', Buffer.from('first version, longer'));
      await client.put('replace.txt', Buffer.from('second'));
      const got = await client.get('replace.txt');
      expect(Buffer.from(got.content).toString()).toBe('second');
      expect(got.res.headers['content-length']).toBe('6');
    });

    it('serves many concurrent uploads and downloads', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `concurrent/${i}`);
      await Promise.all(keys.map((key) => client.put(key, Buffer.from(`body ${key}`))));
      const bodies = await Promise.all(
        keys.map(async (key) => Buffer.from((await client.get(key)).content).toString()),
      );
      expect(bodies).toEqual(keys.map((key) => `body ${key}`));
    });

    it('applies response-* overrides signed into a presigned URL', async () => {
      const url = pathStyleClient(server).signatureUrl('greeting.txt', {
        expires: 600,
        response: { 'content-disposition': 'attachment; filename="hi.txt"', 'content-type': 'text/x-hi' },
      });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="hi.txt"');
      expect(res.headers.get('content-type')).toBe('text/x-hi');
      expect(await res.text()).toBe('hello, upcall');
    });

    it('serves path-style requests on a hostname (sldEnable)', async () => {
      const path = pathStyleClient(server);
      await path.put('path/style.txt', Buffer.from('ps'));
      expect(Buffer.from((await client.get('path/style.txt')).content).toString()).toBe('ps');
      expect(Buffer.from((await path.get('path/style.txt')).content).toString()).toBe('ps');
    });
  });
});
