/**
 * `upcall receiver --forward-to URL` (issue 17), on SQLite and on PostgreSQL: uploads through
 * ali-oss to `upcall server`, whose callbacks reach the spawned receiver; the target fails each
 * record's first two deliveries (503) and accepts the third. It must end up with every record,
 * each accepted once, under a key that stayed the same across the retries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { eventually, startForwardTarget, type ForwardTarget } from '../helpers/forward-target.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'forward-key-id', UPCALL_ACCESS_KEY_SECRET: 'forward-key-secret-123' };
const services = testServices();

describe.each([
  { backend: 'sqlite', skip: false },
  { backend: 'postgres', skip: !services },
])('--forward-to on $backend', ({ backend, skip }) => {
  let server: SpawnedCli | undefined;
  let receiver: SpawnedCli | undefined;
  let target: ForwardTarget | undefined;
  let database: TestDatabase | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'upcall-forward-'));

  beforeAll(async () => {
    if (skip) return;
    target = await startForwardTarget({ failFirst: 2 });
    server = await spawnCli(['server', '--memory', '--port', '0', '--bucket', 'photos'], {
      env: ENV,
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    if (backend === 'postgres') database = await createTestDatabase(services!.pgUrl, 'forward');
    receiver = await spawnCli(
      [
        'receiver',
        '--port',
        '0',
        '--data',
        dataDir,
        '--allow-key-url',
        `${server.ready}/callback_pub_key_v1.pem`,
        '--forward-to',
        target.url,
      ],
      {
        env: database === undefined ? {} : { UPCALL_DATABASE_URL: database.url },
        ready: /^callback URL: (http:\/\/\S+)$/m,
      },
    );
  }, 120_000);
  afterAll(async () => {
    for (const cli of [receiver, server]) {
      cli?.child.kill('SIGTERM');
      await cli?.exited;
    }
    await target?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(skip)(
    'delivers every record once after two failures, with one idempotency key per record',
    async () => {
      const client = ossClient({
        port: Number(new URL(server!.ready).port),
        region: 'oss-cn-hangzhou',
        bucket: 'photos',
        accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
        accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
      } as TestServer);
      const objects = ['fwd/a.txt', 'fwd/b.txt', 'fwd/c.txt'];
      for (const name of objects) {
        const result = (await client.put(name, Buffer.from(name), {
          callback: { url: receiver!.ready, body: 'bucket=${bucket}&object=${object}&size=${size}' },
        })) as { res: { status: number }; data: { Status: string } };
        expect(result.res.status).toBe(200);
        expect(result.data.Status).toBe('OK');
      }
      // Retries back off 1 s, then 2 s.
      await eventually(() => target!.accepted().size === objects.length, 30_000);
      const keys = [...target!.deliveries.keys()];
      expect(keys).toHaveLength(objects.length);
      for (const key of keys) {
        const list = target!.deliveries.get(key)!;
        expect(list.map((d) => d.status)).toEqual([503, 503, 200]);
        expect(new Set(list.map((d) => d.record.id)).size).toBe(1);
      }
      expect([...target!.accepted().values()]).toEqual([1, 1, 1]);
      const forwarded = keys.map((key) => target!.deliveries.get(key)![2]!.record.object).sort();
      expect(forwarded).toEqual(objects);

      // The receiver's API shows each job done, on its third attempt.
      const origin = new URL(receiver!.ready).origin;
      const page = (await (await request(`${origin}/api/uploads`)).body.json()) as {
        uploads: { id: number }[];
      };
      for (const { id } of page.uploads) {
        await eventually(async () => {
          const one = (await (await request(`${origin}/api/uploads/${id}`)).body.json()) as {
            hooks?: { state: string; attempts: number }[];
          };
          return one.hooks?.[0]?.state === 'done' && one.hooks[0].attempts === 3;
        }, 10_000);
      }
    },
    90_000,
  );
});
