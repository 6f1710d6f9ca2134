/**
 * `upcall server` in gateway mode hands a PutObject's Content-Length to the store (issue 16): a
 * body sent with its length (ali-oss put) is stored as ONE blob, while a chunked body (ali-oss
 * putStream, no length) is still cut into 8 MiB segments. Read from the object's row in PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServices, type TestDatabase } from '../../helpers/services.ts';
import { startGateways, stopGateways, type Gateway } from '../../helpers/spawn-gateways.ts';

const services = testServices();
const MiB = 1024 * 1024;

let database: TestDatabase;
let gateways: Gateway[] = [];

async function segmentsOf(key: string): Promise<[string, number][]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ segments: [string, number][] }>(
      'SELECT segments FROM objects WHERE key = $1',
      [key],
    );
    return rows[0]!.segments;
  } finally {
    await client.end();
  }
}

describe.skipIf(!services)('gateway PutObject with and without Content-Length', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    database = await createTestDatabase(services!.pgUrl, 'gwperf_declared_http');
    gateways = await startGateways(1, { databaseUrl: database.url, s3: services!.s3 });
  });
  afterAll(async () => {
    const client = gateways[0]?.client();
    if (client) await client.deleteMulti(['sized', 'chunked'], { quiet: true }).catch(() => {});
    await stopGateways(gateways);
    await database?.drop();
  });

  it('a body with Content-Length is one blob; a chunked one is 8 MiB segments', async () => {
    const data = Buffer.alloc(20 * MiB, 7);
    const md5 = createHash('md5').update(data).digest('hex').toUpperCase();
    const client = gateways[0]!.client();
    const sized = await client.put('sized', data);
    expect(sized.res.status).toBe(200);
    expect((await segmentsOf('sized')).map(([, size]) => size)).toEqual([20 * MiB]);
    const chunked = await client.putStream(
      'chunked',
      Readable.from([data.subarray(0, MiB), data.subarray(MiB)]),
    );
    expect(chunked.res.status).toBe(200);
    expect((await segmentsOf('chunked')).map(([, size]) => size)).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
    for (const key of ['sized', 'chunked']) {
      const head = await client.head(key);
      expect((head.res.headers as Record<string, string>).etag).toBe(`"${md5}"`);
    }
  });
});
