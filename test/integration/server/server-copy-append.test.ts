/**
 * CopyObject (metadata directive COPY/REPLACE, source conditions) and AppendObject through the
 * official ali-oss SDK against a real server.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

describe.each(['fs', 'memory'] as const)('on the %s store', (backend) => {
  let server: TestServer;
  let client: AliOssClient;

  beforeAll(async () => {
    server = await startTestServer({ backend, bucketsToCreate: ['upcall-other'] });
    client = ossClient(server);
  });
  afterAll(async () => {
    await server.close();
  });

  describe('CopyObject through ali-oss', () => {
    it('copies data and metadata (COPY) and returns CopyObjectResult', async () => {
      await client.put('src.json', Buffer.from('{"a":1}'), { meta: { color: 'blue' } });
      const copied = await client.copy('dst.json', 'src.json');
      expect(copied.res.status).toBe(200);
      expect(copied.data.etag).toBe(`"${createHash('md5').update('{"a":1}').digest('hex').toUpperCase()}"`);
      expect(copied.data.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      const head = await client.head('dst.json');
      expect(head.meta).toEqual({ color: 'blue' });
      expect(head.res.headers['content-type']).toBe('application/json');
      expect(Buffer.from((await client.get('dst.json')).content).toString()).toBe('{"a":1}');
    });

    it('replaces metadata with REPLACE', async () => {
      await client.copy('dst2.json', 'src.json', {
        meta: { color: 'red' },
        headers: { 'Content-Type': 'text/x-x' },
      });
      const head = await client.head('dst2.json');
      expect(head.meta).toEqual({ color: 'red' });
      expect(head.res.headers['content-type']).toBe('text/x-x');
    });

    it('copies an object onto itself to change its metadata', async () => {
      await client.put('self.txt', Buffer.from('same bytes'), { meta: { v: '1' } });
      await client.copy('self.txt', 'self.txt', { meta: { v: '2' } });
      const head = await client.head('self.txt');
      expect(head.meta).toEqual({ v: '2' });
      expect(Buffer.from((await client.get('self.txt')).content).toString()).toBe('same bytes');
      await client.copy('self.txt', 'self.txt');
      expect(Buffer.from((await client.get('self.txt')).content).toString()).toBe('same bytes');
    });

    it('refuses to overwrite with x-oss-forbid-overwrite: true (FileAlreadyExists)', async () => {
      const headers = { 'x-oss-forbid-overwrite': 'true' };
      await client.put('keep.txt', Buffer.from('original'), { headers });
      await expect(client.put('keep.txt', Buffer.from('replacement'), { headers })).rejects.toMatchObject({
        status: 409,
        code: 'FileAlreadyExists',
      });
      await expect(client.copy('keep.txt', 'src.json', { headers })).rejects.toMatchObject({
        status: 409,
        code: 'FileAlreadyExists',
      });
      expect(Buffer.from((await client.get('keep.txt')).content).toString()).toBe('original');
      await client.put('keep.txt', Buffer.from('allowed'), {
        headers: { 'x-oss-forbid-overwrite': 'false' },
      });
      expect(Buffer.from((await client.get('keep.txt')).content).toString()).toBe('allowed');
    });

    it('copies across buckets', async () => {
      const other = ossClient(server, { bucket: 'upcall-other' });
      await other.copy('from-main.json', `/${server.bucket}/src.json`);
      expect(Buffer.from((await other.get('from-main.json')).content).toString()).toBe('{"a":1}');
    });

    it('copies keys that need URL encoding', async () => {
      await client.put('dir/a b+c%d 文件', Buffer.from('odd'));
      await client.copy('dir/copy of odd', 'dir/a b+c%d 文件');
      expect(Buffer.from((await client.get('dir/copy of odd')).content).toString()).toBe('odd');
    });

    it('applies x-oss-copy-source-if-* conditions: 412 and 304', async () => {
      await expect(
        client.copy('dst3.json', 'src.json', { headers: { 'If-Match': '"00"' } }),
      ).rejects.toMatchObject({
        status: 412,
        code: 'PreconditionFailed',
      });
      const etag = (await client.head('src.json')).res.headers.etag as string;
      const notModified = await client.copy('dst3.json', 'src.json', { headers: { 'If-None-Match': etag } });
      expect(notModified.res.status).toBe(304);
      await expect(client.head('dst3.json')).rejects.toMatchObject({ status: 404 });
    });

    it('names a failed source condition as OSS does (If-Match, If-Unmodified-Since)', async () => {
      await expect(
        client.copy('dst5.json', 'src.json', { headers: { 'If-Match': '"00"' } }),
      ).rejects.toMatchObject({ status: 412, message: expect.stringMatching(/\(condition: If-Match\)$/) });
      await expect(
        client.copy('dst5.json', 'src.json', {
          headers: { 'If-Unmodified-Since': new Date(Date.now() - 3_600_000).toUTCString() },
        }),
      ).rejects.toMatchObject({
        status: 412,
        message: expect.stringMatching(/\(condition: If-Unmodified-Since\)$/),
      });
    });

    it('treats an empty x-oss-copy-source-if-match as absent', async () => {
      const copied = await client.copy('dst6.json', 'src.json', { headers: { 'If-Match': '' } });
      expect(copied.res.status).toBe(200);
      expect(Buffer.from((await client.get('dst6.json')).content).toString()).toBe('{"a":1}');
    });

    it('reports a missing source as NoSuchKey', async () => {
      await expect(client.copy('dst4', 'no-such-source')).rejects.toMatchObject({
        status: 404,
        code: 'NoSuchKey',
      });
    });
  });

  describe('AppendObject through ali-oss', () => {
    it('creates at position 0 and appends at the reported next position', async () => {
      const first = await client.append('log.txt', Buffer.from('hello '));
      expect(first.res.status).toBe(200);
      expect(first.nextAppendPosition).toBe('6');
      const second = await client.append('log.txt', Buffer.from('world'), {
        position: first.nextAppendPosition,
      });
      expect(second.nextAppendPosition).toBe('11');
      expect(second.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(Buffer.from('hello world')).toString());
      const got = await client.get('log.txt');
      expect(Buffer.from(got.content).toString()).toBe('hello world');
      expect(got.res.headers['x-oss-object-type']).toBe('Appendable');
    });

    it('reports x-oss-next-append-position on HEAD and GET, so an append can resume from a HEAD', async () => {
      const head = await client.head('log.txt');
      expect(head.res.headers['x-oss-next-append-position']).toBe('11');
      const resumed = await client.append('log.txt', Buffer.from('!'), {
        position: head.res.headers['x-oss-next-append-position'],
      });
      expect(resumed.nextAppendPosition).toBe('12');
      const got = await client.get('log.txt');
      expect(got.res.headers['x-oss-next-append-position']).toBe('12');
      expect(Buffer.from(got.content).toString()).toBe('hello world!');
      await client.put('not-appendable.txt', Buffer.from('n'));
      const normal = await client.head('not-appendable.txt');
      expect(normal.res.headers['x-oss-next-append-position']).toBeUndefined();
    });

    it('refuses a wrong position with PositionNotEqualToLength and the next position', async () => {
      await expect(client.append('log.txt', Buffer.from('!'), { position: 3 })).rejects.toMatchObject({
        status: 409,
        code: 'PositionNotEqualToLength',
        // OSS's wording, without a final period.
        message: 'Position is not equal to file length',
      });
      const res = await fetch(`${server.url}/${server.bucket}/log.txt?append&position=3`, {
        method: 'POST',
        body: '!',
      }).catch(() => undefined);
      // Anonymous callers cannot write to a private bucket; the signed path above is what counts.
      expect(res?.status).toBe(403);
      expect(Buffer.from((await client.get('log.txt')).content).toString()).toBe('hello world!');
    });

    it('refuses to append to a Normal object (ObjectNotAppendable)', async () => {
      await client.put('normal.txt', Buffer.from('n'));
      await expect(client.append('normal.txt', Buffer.from('x'), { position: 1 })).rejects.toMatchObject({
        status: 409,
        code: 'ObjectNotAppendable',
      });
    });

    it('checks Content-MD5 against the appended bytes only', async () => {
      const md5 = (text: string) => createHash('md5').update(text).digest('base64');
      await client.append('md5.txt', Buffer.from('abc'), { headers: { 'Content-MD5': md5('abc') } });
      await client.append('md5.txt', Buffer.from('def'), {
        position: 3,
        headers: { 'Content-MD5': md5('def') },
      });
      await expect(
        client.append('md5.txt', Buffer.from('ghi'), { position: 6, headers: { 'Content-MD5': md5('xyz') } }),
      ).rejects.toMatchObject({ status: 400, code: 'BadDigest' });
      expect(Buffer.from((await client.get('md5.txt')).content).toString()).toBe('abcdef');
    });
  });
});
