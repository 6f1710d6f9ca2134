/**
 * Several `upcall receiver` processes on one PostgreSQL database (issue 17), behind callbacks
 * from a spawned `upcall server`: each callback recorded once whichever instance it reaches, a
 * second delivery of one callback to the other instance answered with the first reply and
 * recorded nothing, every record listed by every instance, and hook jobs finished by the
 * survivor when an instance is killed with -9 in the middle of them.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AliOssClient } from '../helpers/ali-oss-client.ts';
import { eventually, startForwardTarget, type ForwardTarget } from '../helpers/forward-target.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import type { SpawnedCli } from '../helpers/spawn-cli.ts';
import { spawnedServerClient, spawnReceiver, spawnServer, stopAll } from '../helpers/spawned-servers.ts';

const ROOT = { accessKeyId: 'pg-key-id', accessKeySecret: 'pg-key-secret-123' };
const services = testServices();
const BODY = 'bucket=${bucket}&object=${object}&size=${size}';

interface RecordJson {
  id: number;
  object?: string;
  target: string;
  headers: Record<string, string>;
  bodyBase64: string;
  reply?: unknown;
  hooks?: { state: string; attempts: number }[];
}

async function getJson<T>(url: string): Promise<T> {
  const response = await request(url);
  expect(response.statusCode).toBe(200);
  return (await response.body.json()) as T;
}

async function listed(receiver: SpawnedCli): Promise<RecordJson[]> {
  const page = await getJson<{ uploads: RecordJson[] }>(`${origin(receiver)}/api/uploads?limit=1000`);
  return page.uploads;
}

function origin(receiver: SpawnedCli): string {
  return new URL(receiver.ready).origin;
}

function startReceiver(
  server: SpawnedCli,
  database: TestDatabase,
  target: ForwardTarget,
): Promise<SpawnedCli> {
  return spawnReceiver(
    ['--allow-key-url', `${server.ready}/callback_pub_key_v1.pem`, '--forward-to', target.url],
    { UPCALL_DATABASE_URL: database.url },
  );
}

function clientOf(server: SpawnedCli): AliOssClient {
  return spawnedServerClient(server, 'photos', ROOT);
}

/**
 * A memory-backed `upcall server` and two receivers on a fresh database, forwarding to a target;
 * everything stopped and dropped after the describe that calls it.
 */
function twoReceiversOnOneDatabase(label: string): {
  server: () => SpawnedCli;
  receivers: SpawnedCli[];
  target: () => ForwardTarget;
} {
  let server: SpawnedCli | undefined;
  let database: TestDatabase | undefined;
  let target: ForwardTarget | undefined;
  const receivers: SpawnedCli[] = [];
  beforeAll(async () => {
    target = await startForwardTarget();
    database = await createTestDatabase(services!.pgUrl, label);
    server = await spawnServer(['--memory', '--bucket', 'photos'], ROOT);
    // Started together: both migrate the empty database at once (the advisory lock orders them).
    receivers.push(
      ...(await Promise.all([
        startReceiver(server, database, target),
        startReceiver(server, database, target),
      ])),
    );
  }, 120_000);
  afterAll(async () => {
    await stopAll([...receivers, server]);
    await target?.close();
    await database?.drop();
  });
  return { server: () => server!, receivers, target: () => target! };
}

describe.skipIf(!services)('two receivers on one PostgreSQL database', () => {
  const { server, receivers, target } = twoReceiversOnOneDatabase('receivers');

  it('records each callback once whichever instance gets it, and each instance lists them all', async () => {
    const client = clientOf(server());
    const objects = Array.from({ length: 8 }, (_v, i) => `two/${i}.txt`);
    const replies = await Promise.all(
      objects.map(async (name, i) => {
        const result = (await client.put(name, Buffer.from(name), {
          callback: {
            url: receivers[i % 2]!.ready,
            body: `${BODY}&x:device=\${x:device}`,
            customValue: { device: i % 2 === 0 ? 'phone' : 'tablet' },
          },
        })) as { res: { status: number }; data: { Status: string; id: number; object: string } };
        expect(result.res.status).toBe(200);
        return result.data;
      }),
    );
    expect(new Set(replies.map((r) => r.id)).size).toBe(objects.length);
    for (const receiver of receivers) {
      const records = await listed(receiver);
      expect(records.map((r) => r.object).sort()).toEqual([...objects].sort());
      // The x: variables went in with each record (the filter reads upload_vars).
      const phones = await getJson<{ uploads: RecordJson[] }>(
        `${origin(receiver)}/api/uploads?var=${encodeURIComponent('x:device=phone')}`,
      );
      expect(phones.uploads.map((r) => r.object).sort()).toEqual(
        objects.filter((_o, i) => i % 2 === 0).sort(),
      );
    }
    // Every forward job ran once (the target accepted each record once), whichever instance took it.
    await eventually(() => target().accepted().size === objects.length, 20_000);
    expect([...target().accepted().values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  it('answers a second delivery of a callback, at the other instance, with the first reply', async () => {
    const client = clientOf(server());
    const result = (await client.put('two/again.txt', Buffer.from('again'), {
      callback: { url: receivers[0]!.ready, body: BODY },
    })) as { data: { id: number } };
    const first = await getJson<RecordJson>(`${origin(receivers[0]!)}/api/uploads/${result.data.id}`);
    const before = (await listed(receivers[1]!)).length;

    // The same request again, as a storage server redelivering it sends it, to the other instance.
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'x-oss-pub-key-url', 'x-oss-request-id', 'content-type', 'date']) {
      if (first.headers[name] !== undefined) headers[name] = first.headers[name];
    }
    const again = await request(`${origin(receivers[1]!)}${first.target}`, {
      method: 'POST',
      headers,
      body: Buffer.from(first.bodyBase64, 'base64'),
    });
    expect(again.statusCode).toBe(200);
    expect(await again.body.json()).toEqual(first.reply);
    expect((await listed(receivers[1]!)).length).toBe(before);
    await eventually(() => target().accepted().size === 9, 20_000);

    // A refused callback (no signature) is recorded too, as refused, and shown by the other one.
    const junk = await request(`${origin(receivers[1]!)}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-oss-request-id': 'JUNK' },
      body: 'object=junk.txt',
    });
    expect(junk.statusCode).toBe(400);
    await junk.body.dump();
    await eventually(async () => {
      const refused = await getJson<{ uploads: RecordJson[] }>(
        `${origin(receivers[0]!)}/api/uploads?verified=false`,
      );
      return refused.uploads.length === 1 && refused.uploads[0]!.object === 'junk.txt';
    }, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([...target().accepted().values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});

describe.skipIf(!services)('a receiver killed with -9 while its hooks run', () => {
  const { server, receivers, target } = twoReceiversOnOneDatabase('kill9');

  it('every job finishes once the other instance picks it up', async () => {
    const client = clientOf(server());
    // The target holds its answers: the first instance is in the middle of a job when it dies.
    target().hold = true;
    const objects = ['kill/a.txt', 'kill/b.txt', 'kill/c.txt'];
    for (const name of objects) {
      const result = (await client.put(name, Buffer.from(name), {
        callback: { url: receivers[0]!.ready, body: BODY },
      })) as { res: { status: number } };
      expect(result.res.status).toBe(200);
    }
    await eventually(() => target().deliveries.size >= 1, 10_000);
    receivers[0]!.child.kill('SIGKILL');
    await receivers[0]!.exited;
    // The survivor may be in the middle of a job too: let it finish.
    target().hold = false;
    target().release();

    // The survivor's sweep (every 5 s) frees the dead instance's job; it runs it again.
    const survivor = receivers[1]!;
    await eventually(() => objects.length === target().accepted().size, 30_000);
    const records = await listed(survivor);
    expect(records.map((r) => r.object).sort()).toEqual(objects);
    for (const record of records) {
      await eventually(async () => {
        const one = await getJson<RecordJson>(`${origin(survivor)}/api/uploads/${record.id}`);
        return one.hooks?.[0]?.state === 'done';
      }, 10_000);
    }
  }, 120_000);
});
