/**
 * Three `upcall server` gateways over one PostgreSQL database and one S3 engine bucket (issue 16),
 * spawned as operators run them and driven by ali-oss: what one gateway commits, every other one
 * serves; races between gateways are settled in PostgreSQL (one whole body wins an overwrite race,
 * exactly one forbid-overwrite upload and one AppendObject at a position succeed); a multipart
 * upload moves between gateways; and a callback signed by one gateway is verified by `upcall
 * receiver` with the public key it fetched from another, because the signing key is shared.
 *
 * Needs the services (test/helpers/services.ts); each run has a database of its own.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServices, type TestDatabase } from '../../helpers/services.ts';
import { spawnCli, type SpawnedCli } from '../../helpers/spawn-cli.ts';
import { startGateways, stopGateways, type Gateway } from '../../helpers/spawn-gateways.ts';

const services = testServices();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function md5(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

interface Settled {
  status: number;
  code?: string;
}

/** The HTTP status an ali-oss call ended with, and the OSS error code when it failed. */
async function settle(call: Promise<{ res: { status: number } }>): Promise<Settled> {
  try {
    return { status: (await call).res.status };
  } catch (error) {
    const failure = error as { status?: number; code?: string };
    return { status: failure.status ?? 0, ...(failure.code === undefined ? {} : { code: failure.code }) };
  }
}

let database: TestDatabase;
let gateways: Gateway[];
let receiver: SpawnedCli;
let keyUrl: string;
let scratch: string;

describe.skipIf(!services)('gateways over one PostgreSQL + S3 engine', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'upcall-scale-out-'));
    database = await createTestDatabase(services!.pgUrl, 'gateway_namespace');
    // Every gateway sends the same key URL: gateway A's (a load balancer's, in production).
    const portA = await freePort();
    keyUrl = `http://127.0.0.1:${portA}/callback_pub_key_v1.pem`;
    const config = {
      databaseUrl: database.url,
      s3: services!.s3,
      args: ['--callback-key-url', keyUrl],
    };
    const [a] = await startGateways(1, { ...config, args: [...config.args, '--port', String(portA)] });
    const others = await startGateways(2, config);
    gateways = [a!, ...others];
    receiver = await spawnCli(
      ['receiver', '--port', '0', '--data', join(scratch, 'receiver'), '--allow-key-url', keyUrl],
      { ready: /^dashboard: (http:\/\/\S+)$/m },
    );
  }, 180_000);

  afterAll(async () => {
    if (receiver !== undefined) {
      receiver.child.kill('SIGTERM');
      await receiver.exited;
    }
    if (gateways !== undefined) await stopGateways(gateways);
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('what gateway A writes, B and C read, head and list', async () => {
    const [a, b, c] = gateways as [Gateway, Gateway, Gateway];
    const body = Buffer.from('written through A');
    await a.client().put('shared/one.txt', body, { headers: { 'x-oss-meta-origin': 'gateway-a' } });
    await a.client().put('shared/two.txt', Buffer.from('two'));
    const got = await b.client().get('shared/one.txt');
    expect(Buffer.from(got.content as Buffer)).toEqual(body);
    const head = await c.client().head('shared/one.txt');
    expect(head.meta).toEqual({ origin: 'gateway-a' });
    expect(head.res.headers.etag).toBe(`"${md5(body).toUpperCase()}"`);
    const listed = await c.client().list({ prefix: 'shared/' });
    expect(listed.objects.map((o: { name: string }) => o.name)).toEqual(['shared/one.txt', 'shared/two.txt']);

    // A delete through C is seen by A at once: no gateway caches what another may change.
    await c.client().delete('shared/two.txt');
    expect((await settle(a.client().get('shared/two.txt'))).code).toBe('NoSuchKey');
  });

  it('an overwrite race between gateways leaves one whole body', async () => {
    const bodies = gateways.map((_, i) => Buffer.alloc(512 * 1024 + i, 0x41 + i));
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        gateways.map((gateway, i) => settle(gateway.client().put('race/overwrite.bin', bodies[i]))),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      for (const reader of gateways) {
        const got = Buffer.from((await reader.client().get('race/overwrite.bin')).content as Buffer);
        expect(bodies.some((body) => body.equals(got))).toBe(true);
      }
    }
  });

  it('a forbid-overwrite race on a new key: exactly one 200, the others FileAlreadyExists', async () => {
    for (let round = 0; round < 3; round++) {
      const key = `race/forbid-${round}.txt`;
      const results = await Promise.all(
        gateways.map((gateway, i) =>
          settle(
            gateway.client().put(key, Buffer.from(`from gateway ${i}`), {
              headers: { 'x-oss-forbid-overwrite': 'true' },
            }),
          ),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status !== 200)).toEqual([
        { status: 409, code: 'FileAlreadyExists' },
        { status: 409, code: 'FileAlreadyExists' },
      ]);
      const got = await gateways[2]!.client().get(key);
      expect(Buffer.from(got.content as Buffer).toString()).toBe(`from gateway ${winners[0]!}`);
    }
  });

  it('an AppendObject race at one position: one succeeds, the others PositionNotEqualToLength', async () => {
    const [a] = gateways as [Gateway];
    await a.client().append('race/log.txt', Buffer.from('start;'));
    const results = await Promise.all(
      gateways.map((gateway, i) =>
        settle(gateway.client().append('race/log.txt', Buffer.from(`g${i};`), { position: '6' })),
      ),
    );
    const winners = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status !== 200)).toEqual([
      { status: 409, code: 'PositionNotEqualToLength' },
      { status: 409, code: 'PositionNotEqualToLength' },
    ]);
    const got = await gateways[1]!.client().get('race/log.txt');
    expect(Buffer.from(got.content as Buffer).toString()).toBe(`start;g${winners[0]!};`);
  });

  it('multipart: initiated on A, parts through B and C, completed on A with a callback', async () => {
    const [a, b, c] = gateways as [Gateway, Gateway, Gateway];
    const init = await a.client().initMultipartUpload('multi/joined.bin');
    const partOne = Buffer.alloc(100 * 1024, 1);
    const partTwo = Buffer.from('the last part');
    await writeFile(join(scratch, 'one.bin'), partOne);
    await writeFile(join(scratch, 'two.bin'), partTwo);
    const one = await b
      .client()
      .uploadPart('multi/joined.bin', init.uploadId, 1, join(scratch, 'one.bin'), 0, partOne.length);
    const two = await c
      .client()
      .uploadPart('multi/joined.bin', init.uploadId, 2, join(scratch, 'two.bin'), 0, partTwo.length);
    const listed = await a.client().listParts('multi/joined.bin', init.uploadId);
    expect(listed.parts.map((p: { PartNumber: string }) => Number(p.PartNumber))).toEqual([1, 2]);
    const callbackUrl = /^callback URL: (http:\/\/\S+)$/m.exec(receiver.stdout())![1]!;
    const result = await a.client().completeMultipartUpload(
      'multi/joined.bin',
      init.uploadId,
      [
        { number: 1, etag: one.etag },
        { number: 2, etag: two.etag },
      ],
      { callback: { url: callbackUrl, body: 'object=${object}&size=${size}&op=${operation}' } },
    );
    expect(result.res.status).toBe(200);
    expect(result.data).toMatchObject({ Status: 'OK' });
    const got = await b.client().get('multi/joined.bin');
    expect(Buffer.from(got.content as Buffer)).toEqual(Buffer.concat([partOne, partTwo]));
    const records = await receiverUploads();
    expect(records[0]).toMatchObject({
      verified: true,
      object: 'multi/joined.bin',
      size: partOne.length + partTwo.length,
    });
  });

  it('a callback signed by gateway B verifies with the key the receiver fetched from gateway A', async () => {
    const [a, b, c] = gateways as [Gateway, Gateway, Gateway];
    // Every gateway serves the one shared key.
    const pems = await Promise.all(
      gateways.map(async (gateway) => (await fetch(`${gateway.endpoint}/callback_pub_key_v1.pem`)).text()),
    );
    expect(new Set(pems).size).toBe(1);
    expect(pems[0]).toContain('BEGIN PUBLIC KEY');
    expect(keyUrl).toContain(`:${a.port}/`);

    const callbackUrl = /^callback URL: (http:\/\/\S+)$/m.exec(receiver.stdout())![1]!;
    for (const [name, gateway] of [
      ['from-b.txt', b],
      ['from-c.txt', c],
    ] as const) {
      const result = await gateway.client().put(`signed/${name}`, Buffer.from(name), {
        callback: { url: callbackUrl, body: 'bucket=${bucket}&object=${object}&size=${size}' },
      });
      expect(result.res.status).toBe(200);
      expect(result.data).toMatchObject({ Status: 'OK', object: `signed/${name}` });
      const [record] = await receiverUploads();
      expect(record).toMatchObject({ verified: true, object: `signed/${name}`, size: name.length });
    }
  });

  it('--callback-key-file overrides the shared key: such a gateway serves the file’s public key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const keyFile = join(scratch, 'callback-key.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const [own] = await startGateways(1, {
      databaseUrl: database.url,
      s3: services!.s3,
      args: ['--callback-key-file', keyFile],
    });
    try {
      const served = await (await fetch(`${own!.endpoint}/callback_pub_key_v1.pem`)).text();
      expect(served).toBe(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString());
      const shared = await (await fetch(`${gateways[0]!.endpoint}/callback_pub_key_v1.pem`)).text();
      expect(served).not.toBe(shared);
    } finally {
      await stopGateways([own!]);
    }
  });
});

interface ReceiverUpload {
  verified: boolean;
  object?: string;
  size?: number;
  rejectReason?: string;
}

/** The receiver's records, newest first. */
async function receiverUploads(): Promise<ReceiverUpload[]> {
  const response = await fetch(new URL('/api/uploads', receiver.ready));
  expect(response.status).toBe(200);
  return ((await response.json()) as { uploads: ReceiverUpload[] }).uploads;
}
