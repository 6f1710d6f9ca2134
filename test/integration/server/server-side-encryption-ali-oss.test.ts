/**
 * Server-side encryption (`x-oss-server-side-encryption: AES256`) through ali-oss and raw HTTP on
 * a real server with a --data dir (issue 20): PutObject, AppendObject, multipart, CopyObject and
 * PostObject store ciphertext and answer the header on PUT / HEAD / GET; whole and ranged reads
 * (across append and part boundaries) return the plaintext with its own ETag and CRC-64; the
 * bucket default (PutBucketEncryption) applies when a request names none; KMS / SM4 and unknown
 * values are refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { errorCode, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const SSE = { 'x-oss-server-side-encryption': 'AES256' };
let server: TestServer;
let client: AliOssClient;

beforeAll(async () => {
  server = await startTestServer({ lifecycle: false });
  client = ossClient(server);
});
afterAll(async () => {
  await server.close();
});

/** A recognisable plaintext of `size` bytes, so its absence from the disk means something. */
function secret(size: number, label: string): Buffer {
  const text = Buffer.from(`${label}: the plaintext that must not reach the disk. `);
  return Buffer.concat(Array.from({ length: Math.ceil(size / text.length) }, () => text)).subarray(0, size);
}

async function expectNotOnDisk(needle: string): Promise<void> {
  const blobs = join(server.dataDir, 'blobs');
  let files = 0;
  for (const sub of await readdir(blobs)) {
    for (const name of await readdir(join(blobs, sub))) {
      files += 1;
      expect((await readFile(join(blobs, sub, name))).includes(Buffer.from(needle)), name).toBe(false);
    }
  }
  expect(files).toBeGreaterThan(0);
}

async function getRange(key: string, start: number, end: number): Promise<Buffer> {
  const result = (await client.get(key, { headers: { Range: `bytes=${start}-${end}` } })) as {
    content: Buffer;
    res: { status: number };
  };
  expect(result.res.status).toBe(206);
  return result.content;
}

type Headers = Record<string, string>;

describe('x-oss-server-side-encryption: AES256 through ali-oss', () => {
  it('encrypts a PutObject on disk and serves it back whole and by range, with the header', async () => {
    const data = secret(200_000, 'put');
    const put = (await client.put('put.bin', data, { headers: SSE })) as { res: { headers: Headers } };
    expect(put.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(put.res.headers['etag']).toBe(`"${createHash('md5').update(data).digest('hex').toUpperCase()}"`);
    expect(put.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(data));

    const head = (await client.head('put.bin')) as { res: { headers: Headers } };
    expect(head.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(head.res.headers['content-length']).toBe(String(data.length));
    const got = (await client.get('put.bin')) as { content: Buffer; res: { headers: Headers } };
    expect(got.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(got.content.equals(data)).toBe(true);
    for (const [start, end] of [
      [0, 15],
      [1, 16],
      [100_001, 150_017],
      [199_990, 199_999],
    ] as const) {
      expect((await getRange('put.bin', start, end)).equals(data.subarray(start, end + 1))).toBe(true);
    }
    await expectNotOnDisk('put: the plaintext');
    expect((await stat(join(server.dataDir, 'master.key'))).isFile()).toBe(true);

    // Without the header nothing is encrypted, and nothing says so.
    const plain = (await client.put('plain.txt', Buffer.from('in the clear'))) as {
      res: { headers: Headers };
    };
    expect(plain.res.headers['x-oss-server-side-encryption']).toBeUndefined();
    const plainHead = (await client.head('plain.txt')) as { res: { headers: Headers } };
    expect(plainHead.res.headers['x-oss-server-side-encryption']).toBeUndefined();
  });

  it('encrypts an appendable object from its first append, and ranges cross the appends', async () => {
    const pieces = [secret(10, 'append'), secret(1000, 'append'), secret(70_000, 'append')];
    let position = 0;
    for (const [i, piece] of pieces.entries()) {
      const appended = (await client.append('log.txt', piece, {
        position: String(position),
        ...(i === 0 ? { headers: SSE } : {}),
      })) as { nextAppendPosition: string; res: { headers: Headers } };
      expect(appended.res.headers['x-oss-server-side-encryption']).toBe('AES256');
      position = Number(appended.nextAppendPosition);
    }
    const data = Buffer.concat(pieces);
    expect(((await client.get('log.txt')) as { content: Buffer }).content.equals(data)).toBe(true);
    for (const [start, end] of [
      [5, 14],
      [9, 10],
      [1009, 1010],
      [3, 60_000],
    ] as const) {
      expect((await getRange('log.txt', start, end)).equals(data.subarray(start, end + 1)), `${start}`).toBe(
        true,
      );
    }
    await expectNotOnDisk('append: the plaintext');
  });

  it('encrypts the parts of a multipart upload, and ranges cross the parts', async () => {
    const parts = [secret(100 * 1024 + 5, 'part'), secret(100 * 1024 + 11, 'part'), secret(999, 'part')];
    const init = (await client.initMultipartUpload('big.bin', { headers: SSE })) as {
      uploadId: string;
      res: { headers: Headers };
    };
    expect(init.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    const done: { number: number; etag: string }[] = [];
    for (const [i, part] of parts.entries()) {
      const uploaded = (await client.uploadPart('big.bin', init.uploadId, i + 1, part, 0, part.length)) as {
        etag: string;
      };
      done.push({ number: i + 1, etag: uploaded.etag });
    }
    const completed = (await client.completeMultipartUpload('big.bin', init.uploadId, done)) as {
      res: { headers: Headers };
    };
    expect(completed.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    const data = Buffer.concat(parts);
    const head = (await client.head('big.bin')) as { res: { headers: Headers } };
    expect(head.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(head.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(data));
    const boundary = parts[0]!.length;
    expect(
      (await getRange('big.bin', boundary - 3, boundary + 40)).equals(
        data.subarray(boundary - 3, boundary + 41),
      ),
    ).toBe(true);
    const second = boundary + parts[1]!.length;
    expect((await getRange('big.bin', second - 20, data.length - 1)).equals(data.subarray(second - 20))).toBe(
      true,
    );
    await expectNotOnDisk('part: the plaintext');
  });

  it('copies into the encryption the copy asks for', async () => {
    const data = randomBytes(5000);
    await client.put('copy-source', data);
    const copied = (await client.copy('copy-encrypted', 'copy-source', { headers: SSE })) as {
      res: { headers: Headers };
    };
    expect(copied.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    const head = (await client.head('copy-encrypted')) as { res: { headers: Headers } };
    expect(head.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(((await client.get('copy-encrypted')) as { content: Buffer }).content.equals(data)).toBe(true);
    // A copy that names none (and no bucket default) is stored in the clear.
    await client.copy('copy-plain', 'copy-encrypted');
    const plain = (await client.head('copy-plain')) as { res: { headers: Headers } };
    expect(plain.res.headers['x-oss-server-side-encryption']).toBeUndefined();
    expect(((await client.get('copy-plain')) as { content: Buffer }).content.equals(data)).toBe(true);
  });

  it('encrypts a PostObject whose form names it', async () => {
    await client.putBucket('sse-form', { acl: 'public-read-write' });
    const form = new FormData();
    form.append('key', 'form.txt');
    form.append('x-oss-server-side-encryption', 'AES256');
    form.append('file', new Blob([new Uint8Array(secret(3000, 'form'))]), 'form.txt');
    const response = await fetch(`${server.url}/sse-form/`, { method: 'POST', body: form });
    expect(response.status).toBe(204);
    expect(response.headers.get('x-oss-server-side-encryption')).toBe('AES256');
    const formClient = ossClient(server, { bucket: 'sse-form' });
    const head = (await formClient.head('form.txt')) as { res: { headers: Headers } };
    expect(head.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    await expectNotOnDisk('form: the plaintext');
  });
});

describe('bucket default encryption', () => {
  it('applies AES256 to uploads that name none, until it is deleted', async () => {
    await client.putBucket('sse-default');
    const bucketClient = ossClient(server, { bucket: 'sse-default' });
    await expect(bucketClient.getBucketEncryption('sse-default')).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchServerSideEncryptionRule',
    });
    const put = (await bucketClient.putBucketEncryption('sse-default', { SSEAlgorithm: 'AES256' })) as {
      status: number;
    };
    expect(put.status).toBe(200);
    const got = (await bucketClient.getBucketEncryption('sse-default')) as {
      encryption: { SSEAlgorithm: string };
    };
    expect(got.encryption.SSEAlgorithm).toBe('AES256');

    const defaulted = (await bucketClient.put('by-default.txt', secret(100, 'default'))) as {
      res: { headers: Headers };
    };
    expect(defaulted.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    const init = (await bucketClient.initMultipartUpload('mp.bin')) as { res: { headers: Headers } };
    expect(init.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    await expectNotOnDisk('default: the plaintext');

    expect(
      ((await bucketClient.deleteBucketEncryption('sse-default')) as { res: { status: number } }).res.status,
    ).toBe(204);
    const after = (await bucketClient.put('after.txt', Buffer.from('x'))) as { res: { headers: Headers } };
    expect(after.res.headers['x-oss-server-side-encryption']).toBeUndefined();
    await expect(bucketClient.getBucketEncryption('sse-default')).rejects.toMatchObject({
      code: 'NoSuchServerSideEncryptionRule',
    });
  });
});

describe('encryption upcall cannot give is refused, never stored in the clear', () => {
  it.each([
    ['KMS', 'InvalidArgument'],
    ['SM4', 'InvalidArgument'],
    ['DES', 'InvalidEncryptionAlgorithmError'],
  ])('x-oss-server-side-encryption: %s → %s', async (value, code) => {
    await expect(
      client.put(`refused-${value}`, Buffer.from('x'), {
        headers: { 'x-oss-server-side-encryption': value },
      }),
    ).rejects.toMatchObject({ status: 400, code });
    await expect(client.head(`refused-${value}`)).rejects.toMatchObject({ status: 404 });
    await expect(
      client.initMultipartUpload(`refused-${value}`, { headers: { 'x-oss-server-side-encryption': value } }),
    ).rejects.toMatchObject({ status: 400, code });
  });

  it('refuses a KMS key id, and a bucket default of KMS or of an unknown algorithm', async () => {
    await expect(
      client.put('kms-key', Buffer.from('x'), {
        headers: { ...SSE, 'x-oss-server-side-encryption-key-id': 'key-1' },
      }),
    ).rejects.toMatchObject({ status: 400, code: 'InvalidArgument' });
    await expect(client.putBucketEncryption(server.bucket, { SSEAlgorithm: 'KMS' })).rejects.toMatchObject({
      status: 400,
      code: 'InvalidArgument',
    });
    await expect(client.putBucketEncryption(server.bucket, { SSEAlgorithm: 'ROT13' })).rejects.toMatchObject({
      status: 400,
      code: 'InvalidEncryptionAlgorithmError',
    });
    await expect(
      client.putBucketEncryption(server.bucket, { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'key-1' }),
    ).rejects.toMatchObject({ status: 400, code: 'InvalidArgument' });
    const malformed = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      subresources: { encryption: '' },
      body: '<ServerSideEncryptionRule><Nothing/></ServerSideEncryptionRule>',
    });
    expect(errorCode(malformed)).toBe('MalformedXML');
  });
});
