/**
 * ListObjects, ListObjectsV2 and DeleteMultipleObjects through the official ali-oss SDK (list,
 * listV2, deleteMulti) against a real server, plus raw XML checks for what ali-oss does not parse
 * (element order, encoding-type=url, NextMarker presence).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { signedRequest } from '../../helpers/raw-request.ts';
import { createMemoryObjectStore } from '../../../src/store/index.ts';
import type { ObjectStore } from '../../../src/store/object-store.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const KEYS = ['a.txt', 'docs/1.md', 'docs/2.md', 'docs/sub/3.md', 'img/x.png', 'img/y.png', 'z.txt'];

// The same listing through both embedded backends: the fs store (SQLite index) and memory.
describe.each(['fs', 'memory'] as const)('listing over the %s store', (backend) => {
  let server: TestServer;
  let client: AliOssClient;
  let memory: ObjectStore | undefined;

  beforeAll(async () => {
    memory = backend === 'memory' ? createMemoryObjectStore() : undefined;
    server = await startTestServer(memory === undefined ? {} : { store: memory });
    client = ossClient(server);
    for (const key of KEYS) await client.put(key, Buffer.from(`body of ${key}`));
  });
  afterAll(async () => {
    await server.close();
    await memory?.close();
  });

  interface ListedObject {
    name: string;
    size: number;
    etag: string;
    type: string;
    storageClass: string;
    lastModified: string;
    owner: { id: string; displayName: string } | null;
  }

  describe('ListObjects (ali-oss list)', () => {
    it('lists every object with size, quoted ETag, type, storage class, owner and a second-precision date', async () => {
      const result = await client.list({ 'max-keys': 1000 });
      const objects = result.objects as ListedObject[];
      expect(objects.map((o) => o.name)).toEqual(KEYS);
      const first = objects[0]!;
      expect(first.size).toBe(Buffer.byteLength('body of a.txt'));
      expect(first.etag).toMatch(/^"[0-9A-F]{32}"$/);
      expect(first.type).toBe('Normal');
      expect(first.storageClass).toBe('Standard');
      expect(first.owner?.id).toBe(server.accessKeyId);
      expect(first.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      expect(result.isTruncated).toBe(false);
      expect(result.nextMarker).toBeNull();
      expect(result.prefixes).toBeNull();
    });

    it('folds keys at the delimiter into prefixes, under a prefix too', async () => {
      const top = await client.list({ delimiter: '/' });
      expect((top.objects as ListedObject[]).map((o) => o.name)).toEqual(['a.txt', 'z.txt']);
      expect(top.prefixes).toEqual(['docs/', 'img/']);
      const docs = await client.list({ prefix: 'docs/', delimiter: '/' });
      expect((docs.objects as ListedObject[]).map((o) => o.name)).toEqual(['docs/1.md', 'docs/2.md']);
      expect(docs.prefixes).toEqual(['docs/sub/']);
    });

    it('pages with max-keys and marker, counting prefixes, until not truncated', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (let round = 0; round < 10; round++) {
        const page = await client.list({ delimiter: '/', 'max-keys': 1, ...(marker && { marker }) });
        seen.push(
          ...(page.objects as ListedObject[]).map((o) => o.name),
          ...((page.prefixes as string[]) ?? []),
        );
        if (!page.isTruncated) break;
        marker = page.nextMarker as string;
      }
      expect(seen).toEqual(['a.txt', 'docs/', 'img/', 'z.txt']);
    });

    it('writes NextMarker only when truncated, and url-encodes with encoding-type=url', async () => {
      await client.put('odd key+\u0001.txt', Buffer.from('x'));
      try {
        const res = await signedRequest(server, {
          method: 'GET',
          bucket: server.bucket,
          query: { prefix: 'odd', 'encoding-type': 'url', 'max-keys': '1' },
        });
        expect(res.status).toBe(200);
        expect(res.text).toContain('<EncodingType>url</EncodingType>');
        expect(res.text).toContain(`<Key>${encodeURIComponent('odd key+\u0001.txt')}</Key>`);
        expect(res.text).toContain('<IsTruncated>false</IsTruncated>');
        expect(res.text).not.toContain('<NextMarker>');
        const truncated = await signedRequest(server, {
          method: 'GET',
          bucket: server.bucket,
          query: { 'max-keys': '2', delimiter: '/' },
        });
        expect(truncated.text).toMatch(/<IsTruncated>true<\/IsTruncated><NextMarker>docs\/<\/NextMarker>/);
        expect(truncated.text).toMatch(
          /^<\?xml version="1.0" encoding="UTF-8"\?>\n<ListBucketResult><Name>upcall-test<\/Name><Prefix><\/Prefix><Marker><\/Marker><MaxKeys>2<\/MaxKeys><Delimiter>\/<\/Delimiter>/,
        );
      } finally {
        await client.delete('odd key+\u0001.txt');
      }
    });

    it('reports the common prefix a marker falls inside (issue 16: keys a/b, a/n, c; marker a/m)', async () => {
      // The store used to fold too, and dropped `a/` here: the store's page gave `c` alone while
      // this fold gave `c` + `a/`. OSS reports `a/`, since a/n is after the marker (SPEC.md, docs/compatibility.md).
      const bucket = `list-marker-${backend}`;
      await server.store.createBucket(bucket, 'private');
      const inBucket = ossClient(server, { bucket });
      try {
        for (const key of ['a/b', 'a/n', 'c']) await inBucket.put(key, Buffer.from(key));
        const page = await inBucket.list({ delimiter: '/', marker: 'a/m' });
        expect((page.objects as ListedObject[]).map((o) => o.name)).toEqual(['c']);
        expect(page.prefixes).toEqual(['a/']);
        expect(page.isTruncated).toBe(false);
        const v2 = await inBucket.listV2({ delimiter: '/', 'start-after': 'a/m' });
        expect((v2.objects as ListedObject[]).map((o) => o.name)).toEqual(['c']);
        expect(v2.prefixes).toEqual(['a/']);
        // Paging one entry at a time gives the same two entries, each once.
        const first = await inBucket.list({ delimiter: '/', marker: 'a/m', 'max-keys': 1 });
        expect(first.prefixes).toEqual(['a/']);
        expect(first.nextMarker).toBe('a/');
        const second = await inBucket.list({ delimiter: '/', marker: first.nextMarker, 'max-keys': 1 });
        expect((second.objects as ListedObject[]).map((o) => o.name)).toEqual(['c']);
        expect(second.prefixes).toBeNull();
        expect(second.isTruncated).toBe(false);
      } finally {
        for (const key of ['a/b', 'a/n', 'c']) await server.store.deleteObject(bucket, key);
        await server.store.deleteBucket(bucket);
      }
    });

    it('truncates correctly around a common prefix spanning several store pages', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `big/${String(i).padStart(4, '0')}`);
      for (const key of keys) {
        await server.store.putObject(server.bucket, key, Readable.from([Buffer.from('x')]), {
          meta: { contentType: 'text/plain', userMeta: {} },
        });
      }
      try {
        const first = await client.list({ delimiter: '/', 'max-keys': 2 });
        expect((first.objects as ListedObject[]).map((o) => o.name)).toEqual(['a.txt']);
        expect(first.prefixes).toEqual(['big/']);
        expect(first.isTruncated).toBe(true);
        expect(first.nextMarker).toBe('big/');
        const second = await client.list({ delimiter: '/', 'max-keys': 2, marker: 'big/' });
        expect(second.prefixes).toEqual(['docs/', 'img/']);
        const third = await client.list({ delimiter: '/', 'max-keys': 2, marker: 'img/' });
        expect((third.objects as ListedObject[]).map((o) => o.name)).toEqual(['z.txt']);
        expect(third.isTruncated).toBe(false);
        const inside = await client.listV2({ prefix: 'big/', 'max-keys': 25 });
        expect(inside.keyCount).toBe(25);
        expect(inside.isTruncated).toBe(true);
        const rest = await client.listV2({
          prefix: 'big/',
          'max-keys': 1000,
          'continuation-token': inside.nextContinuationToken,
        });
        expect(rest.keyCount).toBe(15);
        expect(rest.isTruncated).toBe(false);
      } finally {
        for (const key of keys) await server.store.deleteObject(server.bucket, key);
      }
    });
  });

  describe('ListObjectsV2 (ali-oss listV2)', () => {
    it('pages with continuation tokens, with KeyCount and no Owner unless fetch-owner', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      const counts: number[] = [];
      for (let round = 0; round < 10; round++) {
        const page = await client.listV2({
          'max-keys': 2,
          ...(token !== undefined && { 'continuation-token': token }),
        });
        const objects = page.objects as ListedObject[];
        expect(objects.every((o) => o.owner === null)).toBe(true);
        seen.push(...objects.map((o) => o.name));
        counts.push(page.keyCount as number);
        if (!page.isTruncated) {
          expect(page.nextContinuationToken).toBeNull();
          break;
        }
        token = page.nextContinuationToken as string;
      }
      expect(seen).toEqual(KEYS);
      expect(counts).toEqual([2, 2, 2, 1]);
    });

    it('pages the same with V4-signed requests (continuation token in the canonical query)', async () => {
      const v4 = ossClient(server, { authorizationV4: true });
      const first = await v4.listV2({ 'max-keys': 3, delimiter: '/' });
      expect((first.objects as ListedObject[]).map((o) => o.name)).toEqual(['a.txt']);
      expect(first.prefixes).toEqual(['docs/', 'img/']);
      const rest = await v4.listV2({
        'max-keys': 3,
        delimiter: '/',
        'continuation-token': first.nextContinuationToken,
      });
      expect((rest.objects as ListedObject[]).map((o) => o.name)).toEqual(['z.txt']);
      expect(rest.isTruncated).toBe(false);
      const v1 = await v4.list({ marker: 'img/', delimiter: '/' });
      expect((v1.objects as ListedObject[]).map((o) => o.name)).toEqual(['z.txt']);
    });

    it('honours start-after, delimiter and fetch-owner', async () => {
      const page = await client.listV2({ 'start-after': 'docs/', delimiter: '/', 'fetch-owner': true });
      expect((page.objects as ListedObject[]).map((o) => o.name)).toEqual(['z.txt']);
      expect((page.objects as ListedObject[])[0]?.owner?.id).toBe(server.accessKeyId);
      expect(page.prefixes).toEqual(['img/']);
      expect(page.keyCount).toBe(2);
    });

    it('url-encodes prefix, start-after, delimiter and keys with encoding-type=url', async () => {
      const res = await signedRequest(server, {
        method: 'GET',
        bucket: server.bucket,
        query: {
          'list-type': '2',
          prefix: 'docs/',
          'start-after': 'docs/1.md',
          delimiter: '/',
          'encoding-type': 'url',
        },
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain('<Prefix>docs%2F</Prefix><StartAfter>docs%2F1.md</StartAfter>');
      expect(res.text).toContain('<Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>');
      expect(res.text).toContain('<Key>docs%2F2.md</Key>');
      expect(res.text).toContain(
        '<CommonPrefixes><Prefix>docs%2Fsub%2F</Prefix></CommonPrefixes><KeyCount>2</KeyCount>',
      );
    });

    it('refuses a continuation token it did not issue', async () => {
      await expect(client.listV2({ 'continuation-token': '!!not-a-token' })).rejects.toMatchObject({
        status: 400,
        code: 'InvalidArgument',
      });
    });
  });

  describe('DeleteMultipleObjects (ali-oss deleteMulti)', () => {
    it('deletes the named keys, reports each in verbose mode, and succeeds for missing keys', async () => {
      await client.put('del/1', Buffer.from('1'));
      await client.put('del/2 & <3>', Buffer.from('2'));
      const result = await client.deleteMulti(['del/1', 'del/2 & <3>', 'del/missing']);
      expect((result.deleted as { Key: string }[]).map((d) => d.Key)).toEqual([
        'del/1',
        'del/2 & <3>',
        'del/missing',
      ]);
      const left = await client.list({ prefix: 'del/' });
      expect(left.objects).toEqual([]);
    });

    it('url-encodes the reported keys with encoding-type=url', async () => {
      await client.put('enc/a b\u0002', Buffer.from('1'));
      const body = '<Delete><Quiet>false</Quiet><Object><Key>enc/a b\u0002</Key></Object></Delete>';
      const res = await signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        subresources: { delete: '' },
        query: { 'encoding-type': 'url' },
        headers: { 'content-md5': createHash('md5').update(body).digest('base64') },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain(
        `<DeleteResult><EncodingType>url</EncodingType><Deleted><Key>${encodeURIComponent('enc/a b\u0002')}</Key></Deleted></DeleteResult>`,
      );
    });

    it('reports nothing in quiet mode but still deletes', async () => {
      await client.put('quiet/1', Buffer.from('1'));
      const result = await client.deleteMulti(['quiet/1'], { quiet: true });
      expect(result.deleted).toEqual([]);
      await expect(client.head('quiet/1')).rejects.toMatchObject({ status: 404 });
    });
  });
});
