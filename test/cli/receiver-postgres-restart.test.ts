/**
 * PostgreSQL restarted under load behind `upcall receiver --database-url` (issue 17), on a private
 * server the test starts (never the shared one): uploads through ali-oss to `upcall server` keep
 * coming while the database is stopped and started again. Callbacks fail cleanly while it is down
 * (the receiver answers non-2xx, the uploader gets 203 CallbackFailed, nothing hangs), the
 * receiver recovers by itself, and every upload that got a 200 has its record.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import {
  privatePostgresAvailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../helpers/private-postgres.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'restart-key-id', UPCALL_ACCESS_KEY_SECRET: 'restart-key-secret-123' };

describe.skipIf(!privatePostgresAvailable())('PostgreSQL restarted under load', () => {
  let database: PrivatePostgres | undefined;
  let server: SpawnedCli | undefined;
  let receiver: SpawnedCli | undefined;

  beforeAll(async () => {
    database = await startPrivatePostgres();
    server = await spawnCli(['server', '--memory', '--port', '0', '--bucket', 'photos'], {
      env: ENV,
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    receiver = await spawnCli(
      ['receiver', '--port', '0', '--allow-key-url', `${server.ready}/callback_pub_key_v1.pem`],
      { env: { UPCALL_DATABASE_URL: database.url }, ready: /^callback URL: (http:\/\/\S+)$/m },
    );
  }, 120_000);
  afterAll(async () => {
    for (const cli of [receiver, server]) {
      cli?.child.kill('SIGTERM');
      await cli?.exited;
    }
    await database?.close();
  });

  it('fails callbacks cleanly while it is down and loses nothing that got a 200', async () => {
    const client = ossClient({
      port: Number(new URL(server!.ready).port),
      region: 'oss-cn-hangzhou',
      bucket: 'photos',
      accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
      accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
    } as TestServer);
    type Outcome = { name: string; status: number; ms: number; phase: string };
    const outcomes: Outcome[] = [];
    let phase = 'up';
    let stopAt = false;
    let n = 0;
    // Four uploaders, one after another each, until told to stop.
    const uploader = async (): Promise<void> => {
      while (!stopAt) {
        const name = `restart/${n++}.txt`;
        const started = performance.now();
        const during = phase;
        const status = await client
          .put(name, Buffer.from(name), {
            callback: { url: receiver!.ready, body: 'bucket=${bucket}&object=${object}' },
            timeout: 20_000,
          })
          .then(
            (result: { res: { status: number } }) => result.res.status,
            (error: { status?: number }) => error.status ?? -1,
          );
        outcomes.push({ name, status, ms: performance.now() - started, phase: during });
      }
    };
    const load = Promise.all([uploader(), uploader(), uploader(), uploader()]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    phase = 'down';
    await database!.stop();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const ready = await request(`${new URL(receiver!.ready).origin}/_upcall/health/ready`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
    phase = 'restarting';
    await database!.start();
    phase = 'back';
    await new Promise((resolve) => setTimeout(resolve, 5000));
    stopAt = true;
    await load;

    // Only 200 (recorded) or 203 (callback failed) ever: no 5xx from the storage server, no hang.
    expect(new Set(outcomes.map((o) => o.status))).toEqual(new Set([200, 203]));
    expect(outcomes.filter((o) => o.phase === 'down' && o.status === 203).length).toBeGreaterThan(0);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(10_000);
    // Back to 200s once the database is back.
    expect(
      outcomes
        .filter((o) => o.phase === 'back')
        .slice(-4)
        .every((o) => o.status === 200),
    ).toBe(true);

    // Every page: an idle machine makes well over one page (1000) of uploads in these seconds.
    const recorded = new Set<string | undefined>();
    let cursor: string | undefined;
    do {
      const query = `limit=1000&verified=true${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = (await (
        await request(`${new URL(receiver!.ready).origin}/api/uploads?${query}`)
      ).body.json()) as { uploads: { object?: string }[]; nextCursor?: string };
      for (const upload of page.uploads) recorded.add(upload.object);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const lost = outcomes.filter((o) => o.status === 200 && !recorded.has(o.name));
    expect(lost).toEqual([]);
  }, 120_000);
});
