/**
 * Multipart upload through the official ali-oss client against a real server on 127.0.0.1:0:
 * the low-level calls (init, uploadPart, uploadPartCopy, complete, abort, listParts, listUploads),
 * the managed `multipartUpload` with progress and parallel parts, and resuming it from its
 * checkpoint after a cancel.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartEtag } from '../../../src/shared/etag.ts';
import { crc64 } from '../../../src/shared/crc64.ts';
import {
  createMultipartTestBed,
  type MultipartTestBed,
  type OssTestClient,
} from '../../helpers/multipart-test-bed.ts';

const KiB = 1024;

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function readObject(bed: MultipartTestBed, key: string): Promise<Buffer> {
  const { body } = await bed.store.getObject(bed.bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let bed: MultipartTestBed;
let client: OssTestClient;
let dir: string;

beforeAll(async () => {
  bed = await createMultipartTestBed();
  client = bed.client();
  dir = await mkdtemp(join(tmpdir(), 'upcall-multipart-'));
});

afterAll(async () => {
  await bed.close();
  await rm(dir, { recursive: true, force: true });
});

describe('initMultipartUpload / uploadPart / completeMultipartUpload', () => {
  it('assembles the parts in order with the OSS multipart ETag, CRC-64 and the metadata given at init', async () => {
    const key = 'low-level/photo album/é.bin';
    const partA = bytes(100 * KiB, 1);
    const partB = bytes(100 * KiB + 7, 2);
    const partC = bytes(1234, 3);
    const init = await client.initMultipartUpload(key, {
      mime: 'image/x-test',
      meta: { owner: 'alice' },
      headers: { 'Cache-Control': 'no-cache' },
    });
    expect(init.bucket).toBe(bed.bucket);
    expect(init.name).toBe(key);
    expect(init.uploadId).toMatch(/^[0-9A-F]+$/);
    const file = join(dir, 'parts.bin');
    await writeFile(file, Buffer.concat([partA, partB, partC]));
    // Upload out of order: the part number, not the arrival order, decides the position.
    const c = await client.uploadPart(
      key,
      init.uploadId,
      3,
      file,
      partA.length + partB.length,
      partA.length + partB.length + partC.length,
    );
    const a = await client.uploadPart(key, init.uploadId, 1, file, 0, partA.length);
    const b = await client.uploadPart(key, init.uploadId, 2, file, partA.length, partA.length + partB.length);
    expect(a.etag).toBe(`"${md5Hex(partA)}"`);
    expect(a.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(partA));

    const done = await client.completeMultipartUpload(key, init.uploadId, [
      { number: 2, etag: b.etag },
      { number: 1, etag: a.etag },
      { number: 3, etag: c.etag },
    ]);
    const whole = Buffer.concat([partA, partB, partC]);
    const expectedEtag = multipartEtag([md5Hex(partA), md5Hex(partB), md5Hex(partC)]);
    expect(expectedEtag).toMatch(/^[0-9A-F]{32}-3$/);
    expect(done.etag).toBe(`"${expectedEtag}"`);
    expect(done.res.status).toBe(200);
    expect(done.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(whole));
    const xml = done.res.data.toString();
    expect(xml).toMatch(/<Location>http:\/\/[^<]+<\/Location>/);
    expect(xml).toContain(`<Bucket>${bed.bucket}</Bucket>`);
    expect(xml).toContain(`<Key>${key}</Key>`);
    expect(xml).toContain(`<ETag>&quot;${expectedEtag}&quot;</ETag>`);

    expect((await readObject(bed, key)).equals(whole)).toBe(true);
    const head = await bed.store.headObject(bed.bucket, key);
    expect(head).toMatchObject({
      size: whole.length,
      type: 'Multipart',
      etag: expectedEtag,
      meta: { contentType: 'image/x-test', cacheControl: 'no-cache', userMeta: { owner: 'alice' } },
    });

    // Completing twice is refused and leaves the object as it was.
    const again = await client
      .completeMultipartUpload(key, init.uploadId, [{ number: 1, etag: a.etag }])
      .catch((error: unknown) => error);
    expect(again).toMatchObject({ status: 404, code: 'NoSuchUpload' });
    expect((await readObject(bed, key)).equals(whole)).toBe(true);
  });

  it('ignores x-oss-callback on Initiate and UploadPart, where ali-oss copies it (SPEC.md §7.4)', async () => {
    const key = 'low-level/with-callback-header.bin';
    const headers = {
      'x-oss-callback': Buffer.from(
        JSON.stringify({ callbackUrl: 'http://127.0.0.1:9/', callbackBody: 'x' }),
      ).toString('base64'),
    };
    const init = await client.initMultipartUpload(key, { headers });
    const part = bytes(10, 4);
    const file = join(dir, 'small.bin');
    await writeFile(file, part);
    const a = await client.uploadPart(key, init.uploadId, 1, file, 0, part.length, { headers });
    const done = await client.completeMultipartUpload(key, init.uploadId, [{ number: 1, etag: a.etag }]);
    expect(done.res.status).toBe(200);
    expect((await readObject(bed, key)).equals(part)).toBe(true);
  });

  it('re-uploading a part number replaces the earlier part', async () => {
    const key = 'low-level/replace.bin';
    const init = await client.initMultipartUpload(key);
    const file = join(dir, 'replace.bin');
    await writeFile(file, Buffer.concat([bytes(50, 5), bytes(60, 6)]));
    await client.uploadPart(key, init.uploadId, 1, file, 0, 50);
    const second = await client.uploadPart(key, init.uploadId, 1, file, 50, 110);
    const listed = await client.listParts(key, init.uploadId);
    // xml2js in ali-oss turns a single <Part> into an object rather than a one-element list.
    expect(listed.parts).toMatchObject({ PartNumber: '1', Size: '60', ETag: second.etag });
    await client.completeMultipartUpload(key, init.uploadId, [{ number: 1, etag: second.etag }]);
    expect((await readObject(bed, key)).equals(bytes(60, 6))).toBe(true);
  });
});

describe('uploadPartCopy', () => {
  it('copies a whole object and a byte range into parts', async () => {
    const source = bytes(150 * KiB, 7);
    await bed.store.putObject(bed.bucket, 'copy/source key+%.bin', Readable.from([source]), {
      meta: { contentType: 'application/octet-stream', userMeta: {} },
    });
    const key = 'copy/target.bin';
    const init = await client.initMultipartUpload(key);
    const sourceData = { sourceKey: 'copy/source key+%.bin', sourceBucketName: bed.bucket };
    const whole = await client.uploadPartCopy(key, init.uploadId, 1, '', sourceData);
    const ranged = await client.uploadPartCopy(key, init.uploadId, 2, '100-199', sourceData);
    expect(whole.etag).toBe(`"${md5Hex(source)}"`);
    expect(ranged.etag).toBe(`"${md5Hex(source.subarray(100, 200))}"`);
    await client.completeMultipartUpload(key, init.uploadId, [
      { number: 1, etag: whole.etag },
      { number: 2, etag: ranged.etag },
    ]);
    const expected = Buffer.concat([source, source.subarray(100, 200)]);
    expect((await readObject(bed, key)).equals(expected)).toBe(true);
  });
});

describe('multipartUploadCopy', () => {
  it('copies a source object range by range into a new multipart object', async () => {
    const source = bytes(250 * KiB + 3, 11);
    await bed.store.putObject(bed.bucket, 'copy/big source.bin', Readable.from([source]), {
      meta: { contentType: 'application/x-source', userMeta: {} },
    });
    const result = await client.multipartUploadCopy(
      'copy/big target.bin',
      { sourceKey: 'copy/big source.bin', sourceBucketName: bed.bucket },
      { partSize: 100 * KiB, parallel: 2 },
    );
    expect(result.res.status).toBe(200);
    expect(result.etag).toMatch(/^"[0-9A-F]{32}-3"$/);
    expect((await readObject(bed, 'copy/big target.bin')).equals(source)).toBe(true);
  });
});

describe('abortMultipartUpload, listParts, listUploads', () => {
  it('pages parts with max-parts and part-number-marker', async () => {
    const key = 'list/parts.bin';
    const init = await client.initMultipartUpload(key);
    const file = join(dir, 'tiny.bin');
    await writeFile(file, bytes(5, 8));
    for (const number of [1, 2, 3, 5]) await client.uploadPart(key, init.uploadId, number, file, 0, 5);
    const first = await client.listParts(key, init.uploadId, { 'max-parts': 2 });
    expect(first.parts.map((p) => p.PartNumber)).toEqual(['1', '2']);
    expect(first.isTruncated).toBe('true');
    expect(first.nextPartNumberMarker).toBe('2');
    const rest = await client.listParts(key, init.uploadId, {
      'max-parts': 2,
      'part-number-marker': first.nextPartNumberMarker,
    });
    expect(rest.parts.map((p) => p.PartNumber)).toEqual(['3', '5']);
    expect(rest.isTruncated).toBe('false');
    await client.abortMultipartUpload(key, init.uploadId);
  });

  it('lists ongoing uploads by prefix, folds a delimiter, pages, and forgets aborted ones', async () => {
    const ids: Record<string, string> = {};
    for (const key of ['uploads/a.bin', 'uploads/b.bin', 'uploads/dir/c.bin', 'other/d.bin']) {
      ids[key] = (await client.initMultipartUpload(key)).uploadId;
    }
    const all = await client.listUploads({ prefix: 'uploads/' });
    expect(all.uploads.map((u) => u.name)).toEqual(['uploads/a.bin', 'uploads/b.bin', 'uploads/dir/c.bin']);
    expect(all.uploads[0]?.uploadId).toBe(ids['uploads/a.bin']);

    const folded = await client.listUploads({ prefix: 'uploads/', delimiter: '/' });
    expect(folded.uploads.map((u) => u.name)).toEqual(['uploads/a.bin', 'uploads/b.bin']);
    expect(folded.res.data.toString()).toContain(
      '<CommonPrefixes><Prefix>uploads/dir/</Prefix></CommonPrefixes>',
    );

    const page = await client.listUploads({ prefix: 'uploads/', 'max-uploads': 1 });
    expect(page.uploads.map((u) => u.name)).toEqual(['uploads/a.bin']);
    expect(page.isTruncated).toBe(true);
    const next = await client.listUploads({
      prefix: 'uploads/',
      'max-uploads': 2,
      'key-marker': page.nextKeyMarker,
      'upload-id-marker': page.nextUploadIdMarker,
    });
    expect(next.uploads.map((u) => u.name)).toEqual(['uploads/b.bin', 'uploads/dir/c.bin']);

    // Paging one entry at a time with a delimiter visits every upload and common prefix once.
    const seen: string[] = [];
    let marker = { key: '', uploadId: '' };
    for (let round = 0; round < 10; round++) {
      const one = await client.listUploads({
        prefix: 'uploads/',
        delimiter: '/',
        'max-uploads': 1,
        'key-marker': marker.key,
        'upload-id-marker': marker.uploadId,
      });
      const text = one.res.data.toString();
      seen.push(...one.uploads.map((u) => u.name));
      seen.push(...[...text.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix>/g)].map((m) => m[1] ?? ''));
      if (!one.isTruncated) break;
      marker = { key: one.nextKeyMarker, uploadId: one.nextUploadIdMarker };
    }
    expect(seen).toEqual(['uploads/a.bin', 'uploads/b.bin', 'uploads/dir/']);

    await client.abortMultipartUpload('uploads/a.bin', ids['uploads/a.bin']!);
    const after = await client.listUploads({ prefix: 'uploads/' });
    expect(after.uploads.map((u) => u.name)).toEqual(['uploads/b.bin', 'uploads/dir/c.bin']);
    await expect(client.listParts('uploads/a.bin', ids['uploads/a.bin']!)).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchUpload',
    });
    await expect(client.abortMultipartUpload('uploads/a.bin', ids['uploads/a.bin']!)).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchUpload',
    });
    for (const key of ['uploads/b.bin', 'uploads/dir/c.bin', 'other/d.bin']) {
      await client.abortMultipartUpload(key, ids[key]!);
    }
  });
});

describe('multipartUpload (managed)', () => {
  it('uploads a file in parallel parts and reports progress up to 1', async () => {
    const data = bytes(5 * 100 * KiB + 1234, 9);
    const file = join(dir, 'managed.bin');
    await writeFile(file, data);
    const progress: number[] = [];
    const result = await client.multipartUpload('managed/file.bin', file, {
      partSize: 100 * KiB,
      parallel: 3,
      progress: (p) => {
        progress.push(p);
      },
    });
    expect(result.res.status).toBe(200);
    expect(result.etag).toMatch(/^"[0-9A-F]{32}-6"$/);
    expect(progress.at(-1)).toBe(1);
    expect((await readObject(bed, 'managed/file.bin')).equals(data)).toBe(true);
  });

  it('works with V4 request signing (authorizationV4), incl. listParts, listUploads and abort', async () => {
    const v4 = bed.client({ authorizationV4: true });
    const data = bytes(2 * 100 * KiB + 99, 12);
    const file = join(dir, 'v4.bin');
    await writeFile(file, data);
    const result = await v4.multipartUpload('managed/v4 signed.bin', file, {
      partSize: 100 * KiB,
      parallel: 2,
    });
    expect(result.res.status).toBe(200);
    expect((await readObject(bed, 'managed/v4 signed.bin')).equals(data)).toBe(true);
    const init = await v4.initMultipartUpload('managed/v4-abort.bin');
    await v4.uploadPart('managed/v4-abort.bin', init.uploadId, 1, file, 0, 10);
    expect((await v4.listParts('managed/v4-abort.bin', init.uploadId)).parts).toMatchObject({
      PartNumber: '1',
    });
    expect((await v4.listUploads({ prefix: 'managed/v4-abort' })).uploads).toHaveLength(1);
    await v4.abortMultipartUpload('managed/v4-abort.bin', init.uploadId);
    expect((await v4.listUploads({ prefix: 'managed/v4-abort' })).uploads).toHaveLength(0);
  });

  it('resumes from the checkpoint after a cancel, uploading only the missing parts', async () => {
    const data = bytes(8 * 100 * KiB, 10);
    const file = join(dir, 'resume.bin');
    await writeFile(file, data);
    let checkpoint: Checkpoint | undefined;
    const cancelled = await client
      .multipartUpload('managed/resumed.bin', file, {
        partSize: 100 * KiB,
        parallel: 1,
        progress: (p, cp) => {
          if (cp) checkpoint = { ...cp, doneParts: [...cp.doneParts] };
          if (cp?.doneParts.length === 3) client.cancel();
        },
      })
      .catch((error: unknown) => error);
    expect(cancelled).toMatchObject({ name: 'cancel' });
    expect(checkpoint?.doneParts).toHaveLength(3);
    const uploadId = checkpoint!.uploadId;
    const stored = await client.listParts('managed/resumed.bin', uploadId);
    expect(stored.parts.map((p) => p.PartNumber)).toEqual(['1', '2', '3']);
    await expect(bed.store.headObject(bed.bucket, 'managed/resumed.bin')).rejects.toMatchObject({
      code: 'NoSuchKey',
    });

    const uploaded: number[] = [];
    const result = await client.multipartUpload('managed/resumed.bin', file, {
      checkpoint: checkpoint!,
      parallel: 2,
      progress: (_p, cp) => {
        if (cp) uploaded.push(cp.doneParts.length);
      },
    });
    expect(result.res.status).toBe(200);
    expect(result.etag).toMatch(/^"[0-9A-F]{32}-8"$/);
    expect(Math.min(...uploaded)).toBe(4);
    expect((await readObject(bed, 'managed/resumed.bin')).equals(data)).toBe(true);
    // The upload is finished: nothing of it is left behind.
    const left = await client.listUploads({ prefix: 'managed/resumed.bin' });
    expect(left.uploads).toHaveLength(0);
  });
});

interface Checkpoint {
  uploadId: string;
  doneParts: { number: number; etag: string }[];
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}
