/**
 * A bucket changed through one gateway, as a second gateway sees it (issue 16). Gateways keep the
 * bucket rows their PutObjects check in a cache (src/store/gateway/bucket-cache.ts), invalidated
 * through PostgreSQL NOTIFY: after a DeleteBucket through A, a PutObject through B must be refused
 * before its body is read (a stale row would have B wait for the body), a PutBucketAcl through
 * A must decide anonymous access through B from the next request on, and a PutBucketEncryption or
 * DeleteBucketEncryption through A must decide whether B encrypts the next PutObject (B keeps the
 * default encryption in that cache, so a PutObject makes no query for it).
 */
import { request as httpRequest } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest, signRequest, signedRequest } from '../../helpers/raw-request.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../../helpers/services.ts';
import { startGateways, stopGateways, type Gateway } from '../../helpers/spawn-gateways.ts';

const services = testServices();

let database: TestDatabase;
let a: Gateway;
let b: Gateway;

/**
 * A PutObject that declares a 1 MiB body and sends none of it: the status and code of an answer
 * that comes without the body, or 'no answer' when the gateway waits for the body past `waitMs`.
 */
function putWithoutBody(gateway: Gateway, bucket: string, key: string, waitMs: number): Promise<string> {
  const { path, headers } = signRequest(gateway.target, { method: 'PUT', bucket, key });
  headers['content-length'] = String(1024 * 1024);
  return new Promise((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: gateway.port,
      method: 'PUT',
      path,
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, waitMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString();
        resolve(
          `${res.statusCode} ${errorCode({ status: 0, headers: {}, body: Buffer.from(text), text }) ?? ''}`,
        );
        req.destroy();
      });
    });
    req.on('error', () => {});
    req.flushHeaders();
  });
}

describe.skipIf(!services)('bucket changes across gateways', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    database = await createTestDatabase(services!.pgUrl, 'gwperf_bucket_changes');
    [a, b] = (await startGateways(2, { databaseUrl: database.url, s3: services!.s3 })) as [Gateway, Gateway];
  }, 120_000);

  afterAll(async () => {
    await stopGateways([a, b].filter((g) => g !== undefined));
    await database?.drop();
  });

  it('DeleteBucket through A: a PutObject through B is refused with NoSuchBucket before its body', async () => {
    expect((await signedRequest(a.target, { method: 'PUT', bucket: 'doomed' })).status).toBe(200);
    // B reads the bucket for a PutObject (and keeps it).
    const put = { method: 'PUT', bucket: 'doomed', key: 'k', body: 'x' };
    expect((await signedRequest(b.target, put)).status).toBe(200);
    expect((await signedRequest(b.target, put)).status).toBe(200);
    expect((await signedRequest(a.target, { method: 'DELETE', bucket: 'doomed', key: 'k' })).status).toBe(
      204,
    );
    expect((await signedRequest(a.target, { method: 'DELETE', bucket: 'doomed' })).status).toBe(204);
    // The notification reaches B within moments; a B that never heard of it waits for the body.
    await expect
      .poll(() => putWithoutBody(b, 'doomed', 'k2', 1500), { timeout: 10_000, interval: 100 })
      .toBe('404 NoSuchBucket');
  });

  it('PutBucketAcl through A decides anonymous reads through B at once', async () => {
    const bucket = 'shared-acl';
    expect((await signedRequest(a.target, { method: 'PUT', bucket })).status).toBe(200);
    expect((await signedRequest(b.target, { method: 'PUT', bucket, key: 'k', body: 'public?' })).status).toBe(
      200,
    );
    const anonymousGet = async (): Promise<number> =>
      (await rawRequest(b.port, { method: 'GET', path: `/${bucket}/k` })).status;
    for (const [acl, status] of [
      ['public-read', 200],
      ['private', 403],
      ['public-read', 200],
    ] as const) {
      const set = await signedRequest(a.target, {
        method: 'PUT',
        bucket,
        subresources: { acl: '' },
        headers: { 'x-oss-acl': acl },
      });
      expect(set.status).toBe(200);
      expect(await anonymousGet()).toBe(status);
    }
  });

  describe('default encryption', () => {
    const bucket = 'shared-encryption';
    const rule =
      '<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>' +
      '</ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>';
    let n = 0;
    /** PUTs a new object through B and answers its x-oss-server-side-encryption, as HEAD through B reports it. */
    const encryptionOfPutThroughB = async (): Promise<string> => {
      const key = `k${n++}`;
      expect((await signedRequest(b.target, { method: 'PUT', bucket, key, body: 'secret?' })).status).toBe(
        200,
      );
      const head = await signedRequest(b.target, { method: 'HEAD', bucket, key });
      expect(head.status).toBe(200);
      return String(head.headers['x-oss-server-side-encryption'] ?? 'none');
    };

    /** PutBucketEncryption (AES256 by default) through A. */
    const putRuleThroughA = async (): Promise<void> => {
      const put = await signedRequest(a.target, {
        method: 'PUT',
        bucket,
        subresources: { encryption: '' },
        body: rule,
      });
      expect(put.status).toBe(200);
    };

    it('PutBucketEncryption and DeleteBucketEncryption through A decide what B encrypts', async () => {
      expect((await signedRequest(a.target, { method: 'PUT', bucket })).status).toBe(200);
      // B reads the bucket, with no default encryption, for its PutObjects (and keeps it).
      expect(await encryptionOfPutThroughB()).toBe('none');
      expect(await encryptionOfPutThroughB()).toBe('none');
      await putRuleThroughA();
      // The notification reaches B moments after A's commit; a B that never heard of it goes on
      // without encryption until its row is 60 s old.
      await expect.poll(encryptionOfPutThroughB, { timeout: 10_000, interval: 100 }).toBe('AES256');
      const deleted = await signedRequest(a.target, {
        method: 'DELETE',
        bucket,
        subresources: { encryption: '' },
      });
      expect(deleted.status).toBe(204);
      await expect.poll(encryptionOfPutThroughB, { timeout: 10_000, interval: 100 }).toBe('none');
    });

    it('a PutObject through B takes the default from its bucket cache, not from a query', async () => {
      await putRuleThroughA();
      await expect.poll(encryptionOfPutThroughB, { timeout: 10_000, interval: 100 }).toBe('AES256');
      // Changed behind the gateways' backs (no NOTIFY): a B that queried the bucket per PutObject
      // would stop encrypting now; one that keeps the row goes on until a notification (or 60 s).
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query(`UPDATE buckets SET settings = settings - 'encryption' WHERE name = $1`, [bucket]);
      } finally {
        await client.end();
      }
      expect(await encryptionOfPutThroughB()).toBe('AES256');
      expect(await encryptionOfPutThroughB()).toBe('AES256');
    });
  });
});
