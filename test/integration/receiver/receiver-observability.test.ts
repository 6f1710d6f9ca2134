/**
 * The receiver app's logs, health and metrics over real sockets (issue 18, docs/operations.md):
 * `/_upcall/health/*` open to probes, `/_upcall/metrics` behind the API token with callback
 * counters and hook-job gauges that move with real callbacks, readiness that fails once the
 * database file is gone, one log line per request, and the API token or a callback signature in
 * no log line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../../src/receiver/app/create-receiver.ts';
import { TOKEN_COOKIE } from '../../../src/receiver/app/request-guard.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';

const TOKEN = 'receiver-api-token-9f8e7d6c5b4a';
type LogLine = Record<string, unknown> & { level: number; msg: string };

let keys: KeyServer;
let signer: CallbackSigner;
let root: string;
let receiver: Receiver;
let origin: string;
const raw: string[] = [];
const lines = (): LogLine[] => raw.map((line) => JSON.parse(line) as LogLine);

beforeAll(async () => {
  keys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: keys.keyUrl });
  keys.mode = { kind: 'pem', pem: signer.publicKeyPem };
  root = await mkdtemp(join(tmpdir(), 'upcall-receiver-obs-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString());
      callback();
    },
  });
  receiver = await createReceiver({
    dataDir: root,
    keyUrlAllowlist: [keys.keyUrl],
    apiToken: TOKEN,
    logger: pino({ level: 'trace' }, sink),
    hooks: {
      afterUpload: {
        index: async () => {
          throw new Error('search index down');
        },
      },
      retry: { maxAttempts: 1 },
      pollIntervalMs: 20,
    },
  });
  origin = await receiver.listen();
});
afterAll(async () => {
  await receiver.close();
  await keys.close();
  await rm(root, { recursive: true, force: true });
});

const bearer = { authorization: `Bearer ${TOKEN}` };

async function metrics(): Promise<string> {
  const response = await sendRaw(origin, { method: 'GET', target: '/_upcall/metrics', headers: bearer });
  expect(response.status).toBe(200);
  return response.text;
}

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('receiver health, metrics and logs', () => {
  it('counts verified and refused callbacks and shows a failed hook job', async () => {
    const before = await metrics();
    expect(sample(before, 'upcall_receiver_callbacks_total', 'outcome="verified"')).toBe(0);
    expect(sample(before, 'upcall_receiver_hook_jobs', 'state="failed"')).toBe(0);

    const body = Buffer.from('bucket=photos&object=a.txt&size=1');
    const signed = signer.headers('/callback', body, { requestId: 'AAAABBBBCCCCDDDDEEEEFFFF' });
    const verified = await sendRaw(origin, { target: '/callback', headers: signed, body });
    expect(verified.status).toBe(200);
    const forged = await sendRaw(origin, {
      target: '/callback',
      headers: { ...signed, authorization: Buffer.alloc(256, 7).toString('base64') },
      body,
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);

    let after = '';
    for (let i = 0; i < 100; i++) {
      after = await metrics();
      if (sample(after, 'upcall_receiver_hook_jobs', 'state="failed"') === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sample(after, 'upcall_receiver_callbacks_total', 'outcome="verified"')).toBe(1);
    expect(sample(after, 'upcall_receiver_callbacks_total', 'outcome="refused"')).toBe(1);
    expect(sample(after, 'upcall_receiver_hook_jobs', 'state="failed"')).toBe(1);
    expect(sample(after, 'upcall_receiver_hook_jobs', 'state="pending"')).toBe(0);
    expect(sample(after, 'upcall_receiver_callback_duration_seconds_count', 'status="200"')).toBe(1);
    expect(sample(after, 'upcall_receiver_http_requests_total', 'route="/callback",status="200"')).toBe(1);

    const refusedLine = lines().find((line) => line.msg === 'callback refused');
    expect(refusedLine).toMatchObject({ level: 40, reason: 'signature-mismatch' });
    const callbackLine = lines().find(
      (line) => line.msg === 'request' && line['path'] === '/callback' && line['status'] === 200,
    );
    expect(callbackLine).toMatchObject({ method: 'POST', ossRequestId: 'AAAABBBBCCCCDDDDEEEEFFFF' });
    expect(callbackLine?.['bytesIn']).toBe(body.byteLength);
    expect(typeof callbackLine?.['durationMs']).toBe('number');
  });

  it('serves health to probes without the token and metrics only with it', async () => {
    const live = await sendRaw(origin, { method: 'GET', target: '/_upcall/health/live' });
    expect([live.status, live.json]).toEqual([200, { status: 'ok' }]);
    const ready = await sendRaw(origin, { method: 'GET', target: '/_upcall/health/ready' });
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ok', checks: [{ name: 'receiver-database', ok: true }] });
    const anonymous = await sendRaw(origin, { method: 'GET', target: '/_upcall/metrics' });
    expect(anonymous.status).toBe(401);
  });

  it('never logs the API token or a callback signature', async () => {
    // The token as Bearer, as the sign-in cookie, and (wrongly) in a query string.
    await sendRaw(origin, { method: 'GET', target: '/api/uploads', headers: bearer });
    await sendRaw(origin, {
      method: 'GET',
      target: `/api/uploads?token=${TOKEN}`,
      headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}` },
    });
    const body = Buffer.from('object=b.txt');
    const signed = signer.headers('/callback', body);
    await sendRaw(origin, { target: '/callback', headers: signed, body });
    const text = raw.join('');
    expect(lines().filter((line) => line.msg === 'request').length).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(signed['authorization']!);
  });

  it('turns readiness 503 once the database file is gone', async () => {
    await rm(join(root, 'receiver.sqlite'));
    const ready = await sendRaw(origin, { method: 'GET', target: '/_upcall/health/ready' });
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({
      status: 'unavailable',
      checks: [
        { name: 'receiver-database', ok: false, reason: expect.stringContaining('is gone') as unknown },
      ],
    });
    expect((await sendRaw(origin, { method: 'GET', target: '/_upcall/health/live' })).status).toBe(200);
  });
});
