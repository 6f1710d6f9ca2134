/**
 * The S3 engine goes away in the middle of a body (issue 16), as opposed to between requests
 * (gateway-outage.test.ts): a gateway streaming an upload to the engine, or a download from it,
 * loses the engine connection with bytes still to move.
 *
 * An upload must end with 503 ServiceUnavailable in OSS error XML, never a 500, a hang or a crashed
 * gateway, whether its body has a declared length (streamed to the engine as one blob) or is
 * chunked (cut into segments); nothing of it becomes visible and the blob it was writing stays
 * recorded as an intent, for the sweep. A download whose engine goes away must be cut short
 * (fewer bytes than its Content-Length, the connection closed), and the gateway keeps serving.
 *
 * The engine is the shared Swift, reached through a TCP proxy this file cuts and restores
 * (cuttable-proxy.ts). The client is node:http, which can hold an upload open mid-body.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCuttableProxy, type CuttableProxy } from '../../helpers/cuttable-proxy.ts';
import { errorCode, signRequest, signedRequest } from '../../helpers/raw-request.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../../helpers/services.ts';
import { GATEWAY_BUCKET, startGateway, stopGateways, type Gateway } from '../../helpers/spawn-gateways.ts';

const services = testServices();
const MiB = 1024 * 1024;

let database: TestDatabase;
let proxy: CuttableProxy;
let gateway: Gateway;

async function intents(): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ blob_key: string }>('SELECT blob_key FROM blob_intent');
    return rows.map((row) => row.blob_key);
  } finally {
    await client.end();
  }
}

interface Answer {
  status: number;
  text: string;
}

function readAnswer(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    res.on('error', reject);
  });
}

/**
 * A PutObject whose body is sent in two halves: the first, then (once `between` has run) the
 * second. With `declared` the request carries Content-Length, else it is chunked.
 */
async function putInTwoHalves(
  key: string,
  first: Buffer,
  second: Buffer,
  declared: boolean,
  between: () => Promise<void>,
): Promise<Answer> {
  const { path, headers } = signRequest(gateway.target, { method: 'PUT', bucket: GATEWAY_BUCKET, key });
  if (declared) headers['content-length'] = String(first.length + second.length);
  const req = httpRequest({
    host: '127.0.0.1',
    port: gateway.port,
    method: 'PUT',
    path,
    headers,
    agent: false,
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
  });
  req.write(first);
  await between();
  // The gateway may already have answered (and drains what is still sent) or closed: either way
  // the answer is what counts.
  req.end(second);
  return answer;
}

function expectServiceUnavailable(answer: Answer): void {
  expect({
    status: answer.status,
    code: errorCode({ ...answer, headers: {}, body: Buffer.from('') }),
  }).toEqual({ status: 503, code: 'ServiceUnavailable' });
  expect(answer.text).toMatch(/^<\?xml[^>]*>\s*<Error>/);
  expect(answer.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

async function expectGatewayServing(): Promise<void> {
  expect(gateway.cli.child.exitCode).toBeNull();
  const res = await signedRequest(gateway.target, {
    method: 'PUT',
    bucket: GATEWAY_BUCKET,
    key: 'after-cut',
    body: 'still serving',
  });
  expect(res.status).toBe(200);
  const back = await signedRequest(gateway.target, {
    method: 'GET',
    bucket: GATEWAY_BUCKET,
    key: 'after-cut',
  });
  expect(back.text).toBe('still serving');
  expect(gateway.cli.stderr()).not.toMatch(/uncaught|unhandled/i);
}

describe.skipIf(!services)('the S3 engine cut off in the middle of a body', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    database = await createTestDatabase(services!.pgUrl, 'gwperf_engine_cut');
    proxy = await startCuttableProxy(services!.s3.endpoint);
    gateway = await startGateway({ databaseUrl: database.url, s3: { ...services!.s3, endpoint: proxy.url } });
  }, 120_000);

  afterAll(async () => {
    proxy?.restore();
    if (gateway !== undefined) {
      await gateway
        .client()
        .deleteMulti(['victim-declared', 'victim-chunked', 'large', 'after-cut'], { quiet: true })
        .catch(() => {});
      await stopGateways([gateway]);
    }
    await proxy?.close();
    await database?.drop();
  });

  for (const declared of [true, false]) {
    const kind = declared ? 'with Content-Length (one streamed blob)' : 'chunked (segments)';
    it(`mid-upload, ${kind}: 503 ServiceUnavailable, the old object stays, the blob is left to the sweep`, async () => {
      const key = declared ? 'victim-declared' : 'victim-chunked';
      const original = Buffer.from(`the object before the cut (${key})`);
      expect(
        (await signedRequest(gateway.target, { method: 'PUT', bucket: GATEWAY_BUCKET, key, body: original }))
          .status,
      ).toBe(200);
      const before = new Set(await intents());

      // Chunked, the first half must pass one 8 MiB segment so a blob PUT is under way.
      const answer = await putInTwoHalves(
        key,
        randomBytes(10 * MiB),
        randomBytes(10 * MiB),
        declared,
        async () => {
          // The body's blob has its intent once its PUT to the engine is about to start.
          await expect
            .poll(async () => (await intents()).filter((k) => !before.has(k)).length, { timeout: 30_000 })
            .toBeGreaterThan(0);
          await new Promise((resolve) => setTimeout(resolve, 300));
          proxy.cut();
        },
      );
      expectServiceUnavailable(answer);
      const left = (await intents()).filter((k) => !before.has(k));
      proxy.restore();

      // Nothing half-written: the old object, whole.
      const now = await signedRequest(gateway.target, { method: 'GET', bucket: GATEWAY_BUCKET, key });
      expect(now.status).toBe(200);
      expect(now.body).toEqual(original);
      // The engine could not be told to delete the blob, so its intent stays for the sweep.
      expect(left.length).toBeGreaterThan(0);
      await expectGatewayServing();
    });
  }

  it('mid-download: the response is cut short and the gateway keeps serving', async () => {
    const size = 48 * MiB;
    const put = await signedRequest(gateway.target, {
      method: 'PUT',
      bucket: GATEWAY_BUCKET,
      key: 'large',
      body: randomBytes(size),
    });
    expect(put.status).toBe(200);

    const { path, headers } = signRequest(gateway.target, {
      method: 'GET',
      bucket: GATEWAY_BUCKET,
      key: 'large',
    });
    const outcome = await new Promise<{
      status: number;
      length: number;
      received: number;
      complete: boolean;
    }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: gateway.port, path, headers, agent: false },
        (res) => {
          let received = 0;
          let cut = false;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (cut || received < MiB) return;
            // Hold the download still (the gateway's engine read waits on it), then cut the engine.
            cut = true;
            res.pause();
            setTimeout(() => {
              proxy.cut();
              setTimeout(() => res.resume(), 500);
            }, 300);
          });
          res.on('close', () =>
            resolve({
              status: res.statusCode ?? 0,
              length: Number(res.headers['content-length']),
              received,
              complete: res.complete,
            }),
          );
          res.on('error', () => {});
        },
      );
      req.on('error', reject);
      req.end();
    });
    proxy.restore();
    expect(outcome.status).toBe(200);
    expect(outcome.length).toBe(size);
    expect(outcome.complete).toBe(false);
    expect(outcome.received).toBeLessThan(size);
    await expectGatewayServing();
  });
});
