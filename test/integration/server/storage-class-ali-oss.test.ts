/**
 * Storage classes and RestoreObject through ali-oss (issue 20): `x-oss-storage-class` is stored and
 * reported on HEAD/GET/List/ListParts; a bucket's class is the default of its objects; CopyObject
 * converts; archived objects refuse GetObject until a restore, which completes after the server's
 * restore delay while `x-oss-restore` reports its progress.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, serviceClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { errorCode, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const RESTORE_DELAY_MS = 600;
let server: TestServer;
let client: AliOssClient;

beforeAll(async () => {
  server = await startTestServer({ restoreDelayMs: RESTORE_DELAY_MS });
  client = ossClient(server);
});
afterAll(async () => {
  await server.close();
});

interface OssFailure {
  status: number;
  code: string;
}

async function failure(promise: Promise<unknown>): Promise<OssFailure> {
  try {
    await promise;
  } catch (error) {
    return error as OssFailure;
  }
  throw new Error('expected the request to fail');
}

async function headers(name: string): Promise<Record<string, string>> {
  return ((await client.head(name)) as { res: { headers: Record<string, string> } }).res.headers;
}

async function listed(name: string): Promise<{ storageClass: string; restoreInfo?: unknown }> {
  const { objects } = (await client.list({ prefix: name, 'max-keys': 10 })) as {
    objects: { name: string; storageClass: string; restoreInfo?: unknown }[];
  };
  const found = objects.find((o) => o.name === name);
  if (found === undefined) throw new Error(`${name} not listed`);
  return found;
}

async function waitForRestore(name: string): Promise<Record<string, string>> {
  for (let i = 0; i < 50; i++) {
    const now = await headers(name);
    if (now['x-oss-restore']?.startsWith('ongoing-request="false"')) return now;
    await sleep(100);
  }
  throw new Error('the restore never completed');
}

describe('x-oss-storage-class', () => {
  it('is stored and reported on HEAD, GET and List; Standard when not given', async () => {
    await client.put('plain.txt', Buffer.from('p'));
    expect((await headers('plain.txt'))['x-oss-storage-class']).toBe('Standard');
    await client.put('ia.txt', Buffer.from('infrequent'), { headers: { 'x-oss-storage-class': 'IA' } });
    expect((await headers('ia.txt'))['x-oss-storage-class']).toBe('IA');
    const got = (await client.get('ia.txt')) as { content: Buffer; res: { headers: Record<string, string> } };
    expect(got.content.toString()).toBe('infrequent');
    expect(got.res.headers['x-oss-storage-class']).toBe('IA');
    expect((await listed('ia.txt')).storageClass).toBe('IA');
    expect((await listed('plain.txt')).storageClass).toBe('Standard');
  });

  it('an unknown class is InvalidArgument and nothing is stored', async () => {
    const error = await failure(
      client.put('bad-class.txt', Buffer.from('x'), { headers: { 'x-oss-storage-class': 'Glacier' } }),
    );
    expect(error).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(await failure(client.head('bad-class.txt'))).toMatchObject({ status: 404 });
  });

  it("PutBucket's StorageClass is the default of objects that name none", async () => {
    const service = serviceClient(server);
    const bucket = ossClient(server, { bucket: 'upcall-ia-bucket' });
    await bucket.putBucket('upcall-ia-bucket', { StorageClass: 'IA' });
    const info = (await bucket.getBucketInfo('upcall-ia-bucket')) as { bucket: { StorageClass: string } };
    expect(info.bucket.StorageClass).toBe('IA');
    const { buckets } = (await service.listBuckets()) as {
      buckets: { name: string; storageClass: string }[];
    };
    expect(buckets.find((b) => b.name === 'upcall-ia-bucket')?.storageClass).toBe('IA');
    await bucket.put('default.txt', Buffer.from('d'));
    await bucket.put('named.txt', Buffer.from('n'), { headers: { 'x-oss-storage-class': 'Standard' } });
    const head = (await bucket.head('default.txt')) as { res: { headers: Record<string, string> } };
    expect(head.res.headers['x-oss-storage-class']).toBe('IA');
    const named = (await bucket.head('named.txt')) as { res: { headers: Record<string, string> } };
    expect(named.res.headers['x-oss-storage-class']).toBe('Standard');
  });

  it('a multipart upload takes its class from InitiateMultipartUpload; ListParts reports it', async () => {
    const { uploadId } = (await client.initMultipartUpload('mp-cold.bin', {
      headers: { 'x-oss-storage-class': 'ColdArchive' },
    })) as { uploadId: string };
    const part = (await client.uploadPart('mp-cold.bin', uploadId, 1, Buffer.from('part one'), 0, 8)) as {
      etag: string;
    };
    const listParts = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'mp-cold.bin',
      subresources: { uploadId },
    });
    expect(listParts.status).toBe(200);
    expect(listParts.text).toContain('<StorageClass>ColdArchive</StorageClass>');
    await client.completeMultipartUpload('mp-cold.bin', uploadId, [{ number: 1, etag: part.etag }]);
    expect((await headers('mp-cold.bin'))['x-oss-storage-class']).toBe('ColdArchive');
  });
});

describe('archived objects and RestoreObject', () => {
  it('GetObject is InvalidObjectState until restored; the restore reports progress and completes', async () => {
    await client.put('cold.txt', Buffer.from('frozen'), { headers: { 'x-oss-storage-class': 'Archive' } });
    const head = await headers('cold.txt');
    expect(head['x-oss-storage-class']).toBe('Archive');
    expect(head['x-oss-restore']).toBeUndefined();
    expect(await failure(client.get('cold.txt'))).toMatchObject({ status: 403, code: 'InvalidObjectState' });
    expect((await listed('cold.txt')).restoreInfo).toBeUndefined();

    const started = (await client.restore('cold.txt')) as { res: { status: number } };
    expect(started.res.status).toBe(202);
    expect((await headers('cold.txt'))['x-oss-restore']).toBe('ongoing-request="true"');
    expect((await listed('cold.txt')).restoreInfo).toEqual({ ongoingRequest: true });
    expect(await failure(client.restore('cold.txt'))).toMatchObject({
      status: 409,
      code: 'RestoreAlreadyInProgress',
    });
    expect(await failure(client.get('cold.txt'))).toMatchObject({ status: 403, code: 'InvalidObjectState' });

    const done = await waitForRestore('cold.txt');
    const expiry = /expiry-date="([^"]+)"/.exec(done['x-oss-restore'] ?? '')?.[1];
    // ali-oss's restore() asks for 2 days.
    expect(new Date(expiry ?? '').getTime() - Date.now()).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(((await client.get('cold.txt')) as { content: Buffer }).content.toString()).toBe('frozen');
    const info = (await listed('cold.txt')).restoreInfo as { ongoingRequest: boolean; expiryDate: Date };
    expect(info.ongoingRequest).toBe(false);
    expect(info.expiryDate.toUTCString()).toBe(expiry);

    // Restoring a restored object answers 200 and keeps it readable.
    const again = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key: 'cold.txt',
      subresources: { restore: '' },
      body: '<RestoreRequest><Days>3</Days></RestoreRequest>',
    });
    expect(again.status).toBe(200);
    expect((await headers('cold.txt'))['x-oss-restore']).toMatch(/^ongoing-request="false", expiry-date="/);
  });

  it('a restore without a body, and of the cold classes with a Tier, is accepted; bad Days/Tier are not', async () => {
    await client.put('deep.txt', Buffer.from('deep'), {
      headers: { 'x-oss-storage-class': 'DeepColdArchive' },
    });
    const restore = (body: string) =>
      signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        key: 'deep.txt',
        subresources: { restore: '' },
        body,
      });
    const badDays = await restore('<RestoreRequest><Days>366</Days></RestoreRequest>');
    expect([badDays.status, errorCode(badDays)]).toEqual([400, 'InvalidArgument']);
    const badTier = await restore(
      '<RestoreRequest><Days>2</Days><JobParameters><Tier>Fast</Tier></JobParameters></RestoreRequest>',
    );
    expect([badTier.status, errorCode(badTier)]).toEqual([400, 'InvalidArgument']);
    const malformed = await restore('<RestoreRequest><Days>2</Days>');
    expect([malformed.status, errorCode(malformed)]).toEqual([400, 'MalformedXML']);
    const viaSdk = (await client.restore('deep.txt', { type: 'DeepColdArchive', Days: 30 })) as {
      res: { status: number };
    };
    expect(viaSdk.res.status).toBe(202);

    await client.put('archive2.txt', Buffer.from('a'), { headers: { 'x-oss-storage-class': 'Archive' } });
    const noBody = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key: 'archive2.txt',
      subresources: { restore: '' },
    });
    expect(noBody.status).toBe(202);
  });

  it('RestoreObject of a Standard or IA object is OperationNotSupported; of a missing one NoSuchKey', async () => {
    await client.put('warm.txt', Buffer.from('w'), { headers: { 'x-oss-storage-class': 'IA' } });
    expect(await failure(client.restore('warm.txt'))).toMatchObject({
      status: 400,
      code: 'OperationNotSupported',
    });
    expect(await failure(client.restore('missing.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
  });

  it('CopyObject converts classes; an archived source must be restored first', async () => {
    await client.put('to-thaw.txt', Buffer.from('thaw me'), {
      headers: { 'x-oss-storage-class': 'ColdArchive' },
    });
    expect(
      await failure(
        client.copy('to-thaw.txt', 'to-thaw.txt', { headers: { 'x-oss-storage-class': 'Standard' } }),
      ),
    ).toMatchObject({ status: 403, code: 'InvalidObjectState' });
    await client.restore('to-thaw.txt', { type: 'ColdArchive' });
    await waitForRestore('to-thaw.txt');
    await client.copy('to-thaw.txt', 'to-thaw.txt', { headers: { 'x-oss-storage-class': 'Standard' } });
    const converted = await headers('to-thaw.txt');
    expect(converted['x-oss-storage-class']).toBe('Standard');
    expect(converted['x-oss-restore']).toBeUndefined();
    expect(((await client.get('to-thaw.txt')) as { content: Buffer }).content.toString()).toBe('thaw me');

    await client.copy('frozen-copy.txt', 'to-thaw.txt', { headers: { 'x-oss-storage-class': 'Archive' } });
    expect((await headers('frozen-copy.txt'))['x-oss-storage-class']).toBe('Archive');
    expect(await failure(client.get('frozen-copy.txt'))).toMatchObject({
      status: 403,
      code: 'InvalidObjectState',
    });
  });
});
