/**
 * The lifecycle sweep carrying out PutBucketLifecycle rules on a live server, on every backend
 * (issue 20): with a 200 ms interval and a 1 s lifecycle day, objects under an expiring prefix or
 * carrying an expiring tag go, a CreatedBeforeDate rule deletes what is older than its date,
 * incomplete multipart uploads are aborted, and everything else (other prefixes, other tags, a
 * Disabled rule, a date already passed, a rule not due yet) stays. Observed through ali-oss.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const DAY_MS = 1000;

async function keys(client: AliOssClient): Promise<string[]> {
  const listed = (await client.listV2({ 'max-keys': 1000 })) as { objects?: { name: string }[] };
  return (listed.objects ?? []).map((object) => object.name).sort();
}

async function uploadKeys(client: AliOssClient): Promise<string[]> {
  const listed = (await client.listUploads({ 'max-uploads': 1000 })) as { uploads?: { name: string }[] };
  return (listed.uploads ?? []).map((upload) => upload.name).sort();
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.each(['fs', 'memory'] as const)('lifecycle sweep (%s backend)', (backend) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('expires by prefix, by tag and by date, aborts stale uploads, and leaves the rest', async () => {
    server = await startTestServer({ backend, lifecycle: { intervalMs: 200, dayMs: DAY_MS } });
    const client = ossClient(server);
    await client.putBucketLifecycle(server.bucket, [
      { id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 1 } },
      {
        id: 'scratch',
        prefix: '',
        status: 'Enabled',
        tag: { key: 'kind', value: 'scratch' },
        expiration: { days: 1 },
      },
      { id: 'uploads', prefix: 'up/', status: 'Enabled', abortMultipartUpload: { days: 1 } },
      {
        id: 'future',
        prefix: 'dated/',
        status: 'Enabled',
        expiration: { createdBeforeDate: '2100-01-01T00:00:00.000Z' },
      },
      {
        id: 'past',
        prefix: 'old/',
        status: 'Enabled',
        expiration: { createdBeforeDate: '2001-01-01T00:00:00.000Z' },
      },
      { id: 'off', prefix: 'disabled/', status: 'Disabled', expiration: { days: 1 } },
      { id: 'later', prefix: 'later/', status: 'Enabled', expiration: { days: 100_000 } },
    ]);

    for (const key of [
      'tmp/a.txt',
      'tmp/deep/b.txt',
      'keep/a.txt',
      'dated/x',
      'old/x',
      'disabled/x',
      'later/x',
    ]) {
      await client.put(key, Buffer.from(key));
    }
    await client.put('tagged.txt', Buffer.from('t'), {
      headers: { 'x-oss-tagging': 'kind=scratch&owner=me' },
    });
    await client.put('other-tag.txt', Buffer.from('t'), { headers: { 'x-oss-tagging': 'kind=keep' } });
    const stale = (await client.initMultipartUpload('up/big.bin')) as { uploadId: string };
    await client.uploadPart('up/big.bin', stale.uploadId, 1, Buffer.from('part'), 0, 4);
    await client.initMultipartUpload('keepup/big.bin');

    const gone = ['dated/x', 'tagged.txt', 'tmp/a.txt', 'tmp/deep/b.txt'];
    await waitFor(async () => {
      const now = await keys(client);
      return gone.every((key) => !now.includes(key)) && !(await uploadKeys(client)).includes('up/big.bin');
    }, 'the due objects and upload to go');
    // One more full sweep after everything due went: what stays, stays.
    await server.server.lifecycle?.sweep();
    expect(await keys(client)).toEqual(['disabled/x', 'keep/a.txt', 'later/x', 'old/x', 'other-tag.txt']);
    expect(await uploadKeys(client)).toEqual(['keepup/big.bin']);
    await expect(
      client.completeMultipartUpload('up/big.bin', stale.uploadId, [{ number: 1, etag: 'x' }]),
    ).rejects.toMatchObject({ code: 'NoSuchUpload' });
  });

  it('keeps an object that is re-uploaded after the rule matched it, until it is due again', async () => {
    server = await startTestServer({ backend, lifecycle: { intervalMs: 60_000, dayMs: 300 } });
    const client = ossClient(server);
    await client.putBucketLifecycle(server.bucket, [
      { id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 1 } },
    ]);
    await client.put('tmp/x', Buffer.from('first'));
    await sleep(400);
    // Due now; a re-upload makes it new again, so the next sweep keeps it.
    await client.put('tmp/x', Buffer.from('second'));
    expect(await server.server.lifecycle?.sweep()).toMatchObject({ expiredObjects: 0 });
    expect((await client.get('tmp/x')).content.toString()).toBe('second');
    await sleep(400);
    expect(await server.server.lifecycle?.sweep()).toMatchObject({ buckets: 1, expiredObjects: 1 });
    expect(await keys(client)).toEqual([]);
  });

  it('does nothing for a bucket whose lifecycle was deleted', async () => {
    server = await startTestServer({ backend, lifecycle: { intervalMs: 60_000, dayMs: 1 } });
    const client = ossClient(server);
    await client.putBucketLifecycle(server.bucket, [
      { id: 'all', prefix: '', status: 'Enabled', expiration: { days: 1 } },
    ]);
    await client.deleteBucketLifecycle(server.bucket);
    await client.put('a.txt', Buffer.from('a'));
    await sleep(20);
    expect(await server.server.lifecycle?.sweep()).toEqual({
      buckets: 0,
      expiredObjects: 0,
      abortedUploads: 0,
    });
    expect(await keys(client)).toEqual(['a.txt']);
  });

  it('walks a prefix larger than one batch', async () => {
    server = await startTestServer({ backend, lifecycle: { intervalMs: 60_000, dayMs: 1, batchSize: 7 } });
    const client = ossClient(server);
    for (let i = 0; i < 30; i++) await client.put(`tmp/${String(i).padStart(2, '0')}`, Buffer.from('x'));
    await client.put('keep', Buffer.from('x'));
    await client.putBucketLifecycle(server.bucket, [
      { id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 1 } },
    ]);
    await sleep(20);
    await server.server.lifecycle?.sweep();
    expect(await keys(client)).toEqual(['keep']);
  });
});
