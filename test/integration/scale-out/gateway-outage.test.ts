/**
 * PostgreSQL, then the S3 engine, goes away under load and comes back (issue 16). Two gateways keep
 * answering: while a service is down every request that needs it gets 503 with OSS error XML
 * (ServiceUnavailable) within the request timeout, never a 500, a hang or a stack trace, readiness
 * names the service that is down, no object is ever half-written, and service resumes by itself
 * once the service is back, without restarting a gateway.
 *
 * The shared services are never stopped: PostgreSQL is a private cluster this file starts
 * (private-postgres.ts), and the engine is reached through a TCP proxy the test cuts and restores
 * (cuttable-proxy.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCuttableProxy, type CuttableProxy } from '../../helpers/cuttable-proxy.ts';
import {
  privatePostgresAvailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../../helpers/private-postgres.ts';
import { errorCode, rawRequest, signedRequest, type RawResponse } from '../../helpers/raw-request.ts';
import { testServices } from '../../helpers/services.ts';
import { GATEWAY_BUCKET, startGateways, stopGateways, type Gateway } from '../../helpers/spawn-gateways.ts';

const services = testServices();
if (services !== undefined && !privatePostgresAvailable()) {
  throw new Error('the outage test needs PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin');
}

/** The longest a request may take while a service is down: the pool's 5 s connect timeout, plus room. */
const REQUEST_DEADLINE_MS = 15_000;
const KEYS = Array.from({ length: 6 }, (_, i) => `load/key-${i}`);

interface Outcome {
  method: 'PUT' | 'GET';
  key: string;
  status: number;
  code: string | undefined;
  ms: number;
  text: string;
}

/** Each PUT's body names its key and a sequence number, padded: a torn or mixed body shows. */
function bodyFor(key: string, seq: number): Buffer {
  const head = Buffer.from(`${key}#${seq}#`);
  return Buffer.concat([head, Buffer.alloc(16 * 1024 - head.length, 0x2e)]);
}

let database: PrivatePostgres;
let proxy: CuttableProxy;
let gateways: Gateway[];
/** Every body a PUT was attempted with, per key: what a later GET may legitimately return. */
const sent = new Map<string, Set<string>>();
let seq = 0;

async function put(gateway: Gateway, key: string): Promise<Outcome> {
  const body = bodyFor(key, ++seq);
  sent.get(key)!.add(body.toString());
  const started = Date.now();
  const res = await signedRequest(gateway.target, { method: 'PUT', bucket: GATEWAY_BUCKET, key, body });
  return outcome('PUT', key, res, started);
}

async function get(gateway: Gateway, key: string): Promise<Outcome> {
  const started = Date.now();
  const res = await signedRequest(gateway.target, { method: 'GET', bucket: GATEWAY_BUCKET, key });
  if (res.status === 200) expect(sent.get(key)!.has(res.text)).toBe(true);
  return outcome('GET', key, res, started);
}

function outcome(method: 'PUT' | 'GET', key: string, res: RawResponse, started: number): Outcome {
  return { method, key, status: res.status, code: errorCode(res), ms: Date.now() - started, text: res.text };
}

/** Workers that PUT and GET through both gateways until `stop()`; their outcomes. */
function startLoad(): { stop: () => Promise<Outcome[]> } {
  let running = true;
  const outcomes: Outcome[] = [];
  const workers = Array.from({ length: 4 }, async (_, worker) => {
    for (let i = 0; running; i++) {
      const gateway = gateways[(worker + i) % gateways.length]!;
      const key = KEYS[(worker * 7 + i) % KEYS.length]!;
      outcomes.push(await (i % 2 === 0 ? put(gateway, key) : get(gateway, key)));
      // Fast failures (connection refused) would otherwise spin.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

async function readiness(
  gateway: Gateway,
): Promise<{ status: number; checks: { name: string; ok: boolean }[] }> {
  const res = await rawRequest(gateway.port, { method: 'GET', path: '/_upcall/health/ready' });
  return {
    status: res.status,
    checks: (JSON.parse(res.text) as { checks: { name: string; ok: boolean }[] }).checks,
  };
}

/** Every outcome is a 200 or a prompt 503 ServiceUnavailable in OSS XML, and some were 503s. */
function expectOnlyServiceUnavailable(outcomes: Outcome[]): void {
  const failures = outcomes.filter((o) => o.status !== 200);
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) {
    expect({ status: failure.status, code: failure.code }).toEqual({
      status: 503,
      code: 'ServiceUnavailable',
    });
    expect(failure.text).toMatch(/^<\?xml[^>]*>\s*<Error>/);
    expect(failure.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  }
  for (const o of outcomes) expect(o.ms).toBeLessThan(REQUEST_DEADLINE_MS);
}

/** Each key holds exactly one of the bodies sent for it, whole; read through every gateway. */
async function expectWholeObjects(): Promise<void> {
  for (const key of KEYS) {
    for (const gateway of gateways) {
      const res = await signedRequest(gateway.target, { method: 'GET', bucket: GATEWAY_BUCKET, key });
      expect(res.status).toBe(200);
      expect(sent.get(key)!.has(res.text)).toBe(true);
    }
  }
}

/** Both gateways take a PUT and a GET again (polled: nothing is restarted). */
async function expectResumed(): Promise<void> {
  for (const gateway of gateways) {
    await expect
      .poll(async () => (await put(gateway, KEYS[0]!)).status, { timeout: 30_000, interval: 250 })
      .toBe(200);
    expect((await get(gateway, KEYS[0]!)).status).toBe(200);
    expect((await readiness(gateway)).status).toBe(200);
  }
}

describe.skipIf(!services)('gateways while PostgreSQL or the S3 engine is down', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    database = await startPrivatePostgres();
    proxy = await startCuttableProxy(services!.s3.endpoint);
    gateways = await startGateways(2, {
      databaseUrl: database.url,
      s3: { ...services!.s3, endpoint: proxy.url },
    });
    for (const key of KEYS) {
      sent.set(key, new Set());
      expect((await put(gateways[0]!, key)).status).toBe(200);
    }
  }, 180_000);

  afterAll(async () => {
    if (gateways !== undefined) await stopGateways(gateways);
    await proxy?.close();
    await database?.close();
  });

  it('PostgreSQL stopped and restarted: 503 ServiceUnavailable meanwhile, then service by itself', async () => {
    const load = startLoad();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await database.stop();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const gateway of gateways) {
      const ready = await readiness(gateway);
      expect(ready.status).toBe(503);
      expect(ready.checks).toContainEqual({
        name: 'metadata-database',
        ok: false,
        reason: expect.any(String),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await database.start();
    await expectResumed();
    expectOnlyServiceUnavailable(await load.stop());
    await expectWholeObjects();
  });

  it('the S3 engine cut off and restored: 503 ServiceUnavailable meanwhile, then service by itself', async () => {
    const load = startLoad();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const gateway of gateways) {
      const ready = await readiness(gateway);
      expect(ready.status).toBe(503);
      expect(ready.checks).toContainEqual({ name: 's3-engine', ok: false, reason: expect.any(String) });
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.restore();
    await expectResumed();
    expectOnlyServiceUnavailable(await load.stop());
    await expectWholeObjects();
  });
});
