// The dashboard's failed-callbacks panel (issue 18) over real sockets: a receiver app with the
// dashboard mounted and the storage server configured, as `upcall dev` runs it. An app server
// that fails makes uploads 203; the dashboard lists them with the reason; its redeliver route
// (guarded by a header a cross-site form cannot send) delivers them once the app recovers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../../src/receiver/app/create-receiver.ts';
import { mountDashboard } from '../../../src/receiver/dashboard/mount-dashboard.ts';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let withStorage: Receiver;
let withoutStorage: Receiver;
let dir: string;

interface FailedJson {
  available: boolean;
  count?: number;
  reason?: string;
  callbacks?: { requestId: string; key: string; reason: string }[];
}

async function failedCallbacks(receiver: Receiver): Promise<FailedJson> {
  const response = await request(`${await origin(receiver)}/dashboard/failed-callbacks.json`);
  expect(response.statusCode).toBe(200);
  return (await response.body.json()) as FailedJson;
}

const origins = new Map<Receiver, string>();
async function origin(receiver: Receiver): Promise<string> {
  let found = origins.get(receiver);
  if (found === undefined) {
    found = await receiver.listen();
    origins.set(receiver, found);
  }
  return found;
}

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  sink = await startCallbackSink();
  sink.reply = (_callback, res) => {
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  };
  dir = await mkdtemp(join(tmpdir(), 'upcall-dash-failed-'));
  const storage = {
    endpoint: server.url,
    bucket: server.bucket,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  withStorage = await createReceiver({
    dataDir: join(dir, 'a'),
    logger: false,
    routes: (app) => mountDashboard(app, () => ({ storage })),
  });
  withoutStorage = await createReceiver({
    dataDir: join(dir, 'b'),
    logger: false,
    routes: (app) => mountDashboard(app, {}),
  });
});
afterAll(async () => {
  await withStorage.close();
  await withoutStorage.close();
  await sink.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard failed callbacks', () => {
  it('lists uploads whose callback failed, with the reason, and redelivers them once the app recovers', async () => {
    const client = ossClient(server);
    await expect(
      client.put('dash/a.txt', Buffer.from('a'), {
        callback: { url: `${sink.url}/cb`, body: 'object=${object}' },
      }),
    ).rejects.toMatchObject({ status: 203 });

    const listed = await failedCallbacks(withStorage);
    expect(listed).toMatchObject({ available: true, count: 1 });
    expect(listed.callbacks?.[0]).toMatchObject({ key: 'dash/a.txt', reason: 'Error status : 500.' });

    const base = await origin(withStorage);
    // Without the header (what a cross-site form would send): refused, nothing sent.
    const forged = await request(`${base}/dashboard/failed-callbacks/redeliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failed: true }),
    });
    expect(forged.statusCode).toBe(403);
    await forged.body.dump();
    const sentBefore = sink.received.length;

    sink.reply = okReply;
    const redeliver = await request(`${base}/dashboard/failed-callbacks/redeliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upcall-dashboard': '1' },
      body: JSON.stringify({ requestId: listed.callbacks?.[0]?.requestId }),
    });
    expect(redeliver.statusCode).toBe(200);
    const result = (await redeliver.body.json()) as { redelivered: { ok: boolean }[] };
    expect(result.redelivered).toEqual([expect.objectContaining({ ok: true })]);
    expect(sink.received.length).toBe(sentBefore + 1);
    expect(await failedCallbacks(withStorage)).toMatchObject({ available: true, count: 0 });
  });

  it('stays hidden when the dashboard does not know the storage server', async () => {
    expect(await failedCallbacks(withoutStorage)).toMatchObject({ available: false });
  });

  it('the page carries the panel', async () => {
    const page = await request(`${await origin(withStorage)}/dashboard`);
    const html = await page.body.text();
    expect(html).toContain('id="failed-callbacks"');
    expect(html).toContain('Redeliver all');
  });
});
