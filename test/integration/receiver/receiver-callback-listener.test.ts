/**
 * The callback route served in front of Fastify (src/receiver/app/callback-listener.ts), over a
 * real socket: a signed POST is answered without Fastify's request path (its hooks never see
 * it), and still gets everything the Fastify route gives it: the record with the client address
 * (X-Forwarded-For with trustProxy), the raw target with its query, the trailing-slash spelling,
 * the request id sequence Fastify's own requests continue, the metrics and the log line; other
 * methods on the path still reach Fastify's route (501, not recorded).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../../src/receiver/app/create-receiver.ts';
import type { UploadJson } from '../../../src/receiver/app/uploads-api.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';

type LogLine = Record<string, unknown> & { msg: string };

let keys: KeyServer;
let signer: CallbackSigner;
let root: string;
let receiver: Receiver;
let origin: string;
const raw: string[] = [];
const lines = (): LogLine[] => raw.map((line) => JSON.parse(line) as LogLine);
/** Requests Fastify's own request path saw (an onRequest hook mounted through `routes`). */
const seenByFastify: string[] = [];

beforeAll(async () => {
  keys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: keys.keyUrl, modulusLength: 1024 });
  keys.mode = { kind: 'pem', pem: signer.publicKeyPem };
  root = await mkdtemp(join(tmpdir(), 'upcall-receiver-listener-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString());
      callback();
    },
  });
  receiver = await createReceiver({
    dataDir: root,
    keyUrlAllowlist: [keys.keyUrl],
    trustProxy: true,
    logger: pino({ level: 'info' }, sink),
    routes: (app) => {
      app.addHook('onRequest', async (request) => {
        seenByFastify.push(`${request.method} ${request.url}`);
      });
    },
  });
  origin = await receiver.listen();
});
afterAll(async () => {
  await receiver.close();
  await keys.close();
  await rm(root, { recursive: true, force: true });
});

async function post(target: string, body: Buffer, headers: Record<string, string> = {}) {
  return sendRaw(origin, {
    target,
    headers: { ...signer.headers(target, body, { requestId: `LISTENER${target.length}` }), ...headers },
    body,
  });
}

describe('the callback route in front of Fastify', () => {
  it('answers a signed POST without Fastify, recording it as the Fastify route would', async () => {
    const body = Buffer.from('bucket=photos&object=a.jpg&size=3&x%3Auid=u1');
    const res = await post('/callback?source=listener', body, { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const { id } = res.json as { id: number };
    expect(seenByFastify).toEqual([]);

    const detail = await sendRaw(origin, { method: 'GET', target: `/api/uploads/${id}` });
    expect(detail.status).toBe(200);
    expect(detail.json as UploadJson).toMatchObject({
      id,
      verified: true,
      object: 'a.jpg',
      vars: { 'x:uid': 'u1' },
      clientIp: '203.0.113.7',
      target: '/callback?source=listener',
      reply: { Status: 'OK', id, object: 'a.jpg' },
    });
    expect(typeof (detail.json as UploadJson).latencyMs).toBe('number');
    expect(seenByFastify).toEqual([`GET /api/uploads/${id}`]);

    // The request ids run on across both paths: the callback took req-1, the API read req-2.
    const requestLines = lines().filter((line) => line.msg === 'request');
    expect(requestLines.map((line) => [line['reqId'], line['method'], line['path'], line['route']])).toEqual([
      ['req-1', 'POST', '/callback', '/callback'],
      ['req-2', 'GET', `/api/uploads/${id}`, '/api/uploads/:id'],
    ]);
    expect(requestLines[0]).toMatchObject({
      status: 200,
      bytesIn: body.byteLength,
      ossRequestId: 'LISTENER25',
    });
  });

  it('serves the trailing-slash spelling and refuses a forged one with a log line and a record', async () => {
    const body = Buffer.from('object=b.jpg');
    const ok = await post('/callback/', body);
    expect(ok.status).toBe(200);
    const forged = await post('/callback/', body, { authorization: Buffer.alloc(128, 7).toString('base64') });
    expect([forged.status, (forged.json as { Reason: string }).Reason]).toEqual([400, 'signature-mismatch']);
    expect(lines().find((line) => line.msg === 'callback refused')).toMatchObject({
      reason: 'signature-mismatch',
      reqId: expect.stringMatching(/^req-/) as unknown,
    });
    const metrics = await sendRaw(origin, { method: 'GET', target: '/_upcall/metrics' });
    expect(metrics.text).toContain('upcall_receiver_callbacks_total{outcome="refused"} 1');
    expect(metrics.text).toContain('upcall_receiver_http_requests_total{route="/callback",status="400"} 1');
    expect(seenByFastify.filter((request) => request.startsWith('POST'))).toEqual([]);
  });

  it('leaves other methods on the callback path to the Fastify route', async () => {
    const res = await sendRaw(origin, { method: 'GET', target: '/callback' });
    expect(res.status).toBe(501);
    expect(seenByFastify).toContain('GET /callback');
  });
});
