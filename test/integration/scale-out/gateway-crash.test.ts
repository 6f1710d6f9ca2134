/**
 * A gateway killed (SIGKILL) in the middle of an upload or of a CompleteMultipartUpload, with
 * another gateway still serving (issue 16): nothing of the interrupted write becomes visible, the
 * object it would have replaced stays whole, and the blobs the dead gateway had written are
 * deleted by the surviving gateway's sweep once `--gc-grace` has passed.
 *
 * What was written is read from the store's own records (the `blob_intent` table: a blob is
 * recorded before its PUT starts, blob-gc.ts) and from the engine bucket, since no OSS request can
 * show an orphan.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3BlobStore } from '../../../src/store/gateway/s3-blob-store.ts';
import type { BlobStore } from '../../../src/store/gateway/blob-store.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../../helpers/services.ts';
import {
  startGateway,
  stopGateways,
  type Gateway,
  type GatewayConfig,
} from '../../helpers/spawn-gateways.ts';

const services = testServices();
const GC_GRACE = '3s';

let database: TestDatabase;
let config: GatewayConfig;
let survivor: Gateway;
const started: Gateway[] = [];
let blobs: BlobStore;
let scratch: string;

async function intents(): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ blob_key: string }>(
      'SELECT blob_key FROM blob_intent ORDER BY blob_key',
    );
    return rows.map((row) => row.blob_key);
  } finally {
    await client.end();
  }
}

async function blobExists(key: string): Promise<boolean> {
  for await (const entry of blobs.list(key)) if (entry.key === key) return true;
  return false;
}

async function body(gateway: Gateway, key: string): Promise<Buffer> {
  return Buffer.from((await gateway.client().get(key)).content as Buffer);
}

describe.skipIf(!services)('a gateway killed mid-write', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'upcall-gateway-crash-'));
    database = await createTestDatabase(services!.pgUrl, 'gateway_crash');
    config = { databaseUrl: database.url, s3: services!.s3, gcGrace: GC_GRACE };
    survivor = await startGateway(config);
    started.push(survivor);
    blobs = createS3BlobStore(services!.s3);
  }, 120_000);

  afterAll(async () => {
    await stopGateways(started);
    await blobs?.close();
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('mid-upload: the old object stays, nothing new is visible, the written blob is swept after the grace', async () => {
    const original = randomBytes(64 * 1024);
    await survivor.client().put('victim.bin', original);
    expect(await intents()).toEqual([]);

    const doomed = await startGateway(config);
    started.push(doomed);
    // More than one 8 MiB segment, then nothing: the first segment's blob is PUT to the engine
    // while the upload stays open (segment-writer.ts).
    const stalled = new Readable({ read() {} });
    stalled.push(randomBytes(9 * 1024 * 1024));
    const upload = doomed
      .client({ timeout: 120_000 })
      .putStream('victim.bin', stalled)
      .catch((error: unknown) => error);
    let orphan: string | undefined;
    await expect
      .poll(
        async () => {
          for (const key of await intents()) if (await blobExists(key)) orphan = key;
          return orphan;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBeDefined();
    await doomed.kill9();
    expect(await upload).toBeInstanceOf(Error);
    stalled.destroy();

    // The survivor serves the old object, whole, at once.
    expect(await body(survivor, 'victim.bin')).toEqual(original);
    expect((await survivor.client().head('victim.bin')).res.headers['content-length']).toBe(
      String(original.length),
    );
    // After the grace the survivor's sweep deletes the orphan and forgets its intent.
    await expect.poll(async () => blobExists(orphan!), { timeout: 30_000, interval: 500 }).toBe(false);
    await expect.poll(intents, { timeout: 30_000, interval: 500 }).toEqual([]);
    expect(await body(survivor, 'victim.bin')).toEqual(original);
  });

  it('mid-complete: the object is either the old one or the whole new one, never a mix', async () => {
    const original = Buffer.from('the object before any complete');
    const partOne = randomBytes(100 * 1024);
    const partTwo = randomBytes(50 * 1024);
    await writeFile(join(scratch, 'one.bin'), partOne);
    await writeFile(join(scratch, 'two.bin'), partTwo);
    const joined = Buffer.concat([partOne, partTwo]);
    const outcomes = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const key = `complete-${round}.bin`;
      await survivor.client().put(key, original);
      const init = await survivor.client().initMultipartUpload(key);
      const one = await survivor
        .client()
        .uploadPart(key, init.uploadId, 1, join(scratch, 'one.bin'), 0, partOne.length);
      const two = await survivor
        .client()
        .uploadPart(key, init.uploadId, 2, join(scratch, 'two.bin'), 0, partTwo.length);

      const doomed = await startGateway(config);
      started.push(doomed);
      const complete = doomed
        .client()
        .completeMultipartUpload(key, init.uploadId, [
          { number: 1, etag: one.etag },
          { number: 2, etag: two.etag },
        ])
        .catch((error: unknown) => error);
      // Kill it at a different moment each round: before, during or after the commit.
      await new Promise((resolve) => setTimeout(resolve, round * 15));
      await doomed.kill9();
      await complete;

      const now = await body(survivor, key);
      if (now.equals(original)) {
        outcomes.add('old');
        // Not completed: the upload is still there, and completing it through the survivor works.
        await survivor.client().completeMultipartUpload(key, init.uploadId, [
          { number: 1, etag: one.etag },
          { number: 2, etag: two.etag },
        ]);
        expect(await body(survivor, key)).toEqual(joined);
      } else {
        outcomes.add('new');
        expect(now).toEqual(joined);
      }
    }
    expect(outcomes.size).toBeGreaterThan(0);
    // No blob of a completed or still-open upload is an orphan: nothing is left to sweep by intent.
    await expect.poll(intents, { timeout: 30_000, interval: 500 }).toEqual([]);
  });
});
