import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createReceiver,
  type Receiver,
  type ReceiverOptions,
} from '../../../src/receiver/app/create-receiver.ts';
import { openSqliteReceiverStore } from '../../../src/receiver/app/sqlite-receiver-store.ts';
import type { UploadJson } from '../../../src/receiver/app/uploads-api.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';

let keys: KeyServer;
let signer: CallbackSigner;
const dirs: string[] = [];
const running: Receiver[] = [];

beforeAll(async () => {
  keys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: keys.keyUrl });
  keys.mode = { kind: 'pem', pem: signer.publicKeyPem };
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});
afterAll(async () => {
  await keys.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'upcall-receiver-'));
  dirs.push(dir);
  return dir;
}

async function start(
  options: Partial<ReceiverOptions> = {},
): Promise<{ receiver: Receiver; origin: string }> {
  const receiver = await createReceiver({
    dataDir: options.dataDir ?? (await tempDir()),
    keyUrlAllowlist: [`${keys.origin}/`],
    ...options,
  });
  running.push(receiver);
  return { receiver, origin: await receiver.listen() };
}

/** Posts a callback signed like OSS would, for `fields` rendered as a form body. */
async function callback(
  origin: string,
  fields: Record<string, string>,
  options: { target?: string; bucket?: string; requestId?: string } = {},
) {
  const target = options.target ?? '/callback';
  const body = Buffer.from(new URLSearchParams(fields).toString());
  return sendRaw(origin, {
    target,
    headers: signer.headers(target, body, {
      ...(options.bucket === undefined ? {} : { bucket: options.bucket }),
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    }),
    body,
  });
}

async function api<T>(origin: string, path: string): Promise<{ status: number; json: T }> {
  const res = await sendRaw(origin, { method: 'GET', target: path });
  return { status: res.status, json: res.json as T };
}

type Page = { uploads: UploadJson[]; nextCursor?: string };

describe('receiver app: records and REST API', () => {
  it('records a verified callback and answers the default reply with the record id', async () => {
    const { origin } = await start();
    const res = await callback(
      origin,
      {
        bucket: 'photos',
        object: 'users/u1/cat.jpg',
        etag: '"D41D8CD98F00B204E9800998ECF8427E"',
        size: '108904',
        mimeType: 'image/jpeg',
        'imageInfo.height': '278',
        'imageInfo.width': '200',
        'imageInfo.format': 'jpg',
        'x:uid': 'u1',
      },
      { requestId: '5CF3E7821AB22D0FDB86704D' },
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    const reply = res.json as { Status: string; id: number; object: string };
    expect(reply).toEqual({ Status: 'OK', id: reply.id, object: 'users/u1/cat.jpg' });

    const detail = await api<UploadJson>(origin, `/api/uploads/${reply.id}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      id: reply.id,
      verified: true,
      bucket: 'photos',
      object: 'users/u1/cat.jpg',
      etag: '"D41D8CD98F00B204E9800998ECF8427E"',
      size: 108904,
      mimeType: 'image/jpeg',
      imageInfo: { height: 278, width: 200, format: 'jpg' },
      vars: { 'x:uid': 'u1' },
      bodyFormat: 'form',
      clientIp: '127.0.0.1',
      requestId: '5CF3E7821AB22D0FDB86704D',
      keyUrl: keys.keyUrl,
      target: '/callback',
      reply: { Status: 'OK', id: reply.id, object: 'users/u1/cat.jpg' },
      hooks: [],
    });
    expect(detail.json.headers['x-oss-tag']).toBe('CALLBACK');
    expect(detail.json.body).toContain('object=users%2Fu1%2Fcat.jpg');
    expect(Date.parse(detail.json.receivedAt)).not.toBeNaN();
    expect((await api(origin, '/api/uploads/999999')).status).toBe(404);
    expect((await api(origin, '/api/uploads/abc')).status).toBe(404);
  });

  it('records refused callbacks with the reason, and filters on verified', async () => {
    const { origin } = await start();
    const body = Buffer.from('object=forged.txt');
    const headers = signer.headers('/callback', Buffer.from('object=other.txt'));
    const res = await sendRaw(origin, { target: '/callback', headers, body });
    expect(res.status).toBe(400);
    expect((await sendRaw(origin, { method: 'GET', target: '/callback' })).status).toBe(501);
    await callback(origin, { object: 'ok.txt' });
    await vi.waitFor(async () => {
      const refused = await api<Page>(origin, '/api/uploads?verified=false');
      expect(refused.json.uploads).toHaveLength(1);
      expect(refused.json.uploads[0]).toMatchObject({
        verified: false,
        rejectReason: 'signature-mismatch',
        object: 'forged.txt',
      });
    });
    const accepted = await api<Page>(origin, '/api/uploads?verified=true');
    expect(accepted.json.uploads.map((u) => u.object)).toEqual(['ok.txt']);
  });

  it('does not record refused callbacks when recordRejected is false', async () => {
    const { origin } = await start({ recordRejected: false });
    const body = Buffer.from('object=forged.txt');
    const res = await sendRaw(origin, {
      target: '/callback',
      headers: signer.headers('/callback', Buffer.from('object=x')),
      body,
    });
    expect(res.status).toBe(400);
    await callback(origin, { object: 'ok.txt' });
    const page = await api<Page>(origin, '/api/uploads');
    expect(page.json.uploads.map((u) => u.object)).toEqual(['ok.txt']);
  });

  it('filters by bucket, prefix, mimeType, x: variables and time, newest first', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let clock = t0;
    const { origin } = await start({ now: () => clock });
    clock = t0 + 1000;
    await callback(origin, { object: 'a/1.jpg', mimeType: 'image/jpeg', 'x:uid': 'u1' }, { bucket: 'b1' });
    clock = t0 + 2000;
    await callback(origin, { object: 'a/2.png', mimeType: 'image/png', 'x:uid': 'u2' }, { bucket: 'b1' });
    clock = t0 + 3000;
    await callback(origin, { object: 'b/3.jpg', mimeType: 'image/jpeg', 'x:uid': 'u1' }, { bucket: 'b2' });
    clock = t0 + 4000;
    await callback(origin, { object: 'a%_/4.txt', mimeType: 'text/plain' }, { bucket: 'b2' });
    const objects = async (query: string): Promise<string[]> => {
      const page = await api<Page>(origin, `/api/uploads${query}`);
      expect(page.status).toBe(200);
      return page.json.uploads.map((u) => u.object!);
    };
    expect(await objects('')).toEqual(['a%_/4.txt', 'b/3.jpg', 'a/2.png', 'a/1.jpg']);
    expect(await objects('?bucket=b1')).toEqual(['a/2.png', 'a/1.jpg']);
    expect(await objects('?prefix=a%2F')).toEqual(['a/2.png', 'a/1.jpg']);
    expect(await objects('?prefix=a%25_')).toEqual(['a%_/4.txt']);
    expect(await objects('?prefix=A%2F')).toEqual([]);
    expect(await objects('?mimeType=image%2Fjpeg')).toEqual(['b/3.jpg', 'a/1.jpg']);
    expect(await objects('?var=x%3Auid%3Du1')).toEqual(['b/3.jpg', 'a/1.jpg']);
    expect(await objects('?var=x%3Auid')).toEqual(['b/3.jpg', 'a/2.png', 'a/1.jpg']);
    expect(await objects('?var=x%3Auid%3Du1&bucket=b2')).toEqual(['b/3.jpg']);
    expect(await objects('?since=2026-01-01T00:00:02Z&until=2026-01-01T00:00:04Z')).toEqual([
      'b/3.jpg',
      'a/2.png',
    ]);
    expect(await objects(`?since=${Date.parse('2026-01-01T00:00:04Z')}`)).toEqual(['a%_/4.txt']);
  });

  it('pages with an opaque cursor and refuses bad query input with 400', async () => {
    const { origin } = await start();
    for (let i = 1; i <= 5; i++) await callback(origin, { object: `k${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api<Page>(
        origin,
        `/api/uploads?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      seen.push(...page.json.uploads.map((u) => u.object!));
      cursor = page.json.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(seen).toEqual(['k5', 'k4', 'k3', 'k2', 'k1']);
    expect(pages).toBe(3);
    for (const bad of [
      'limit=0',
      'limit=abc',
      'cursor=zzz',
      'since=yesterday',
      'verified=maybe',
      'bucket=a&bucket=b',
    ]) {
      const res = await api<{ error: string }>(origin, `/api/uploads?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.json.error).toBe('InvalidArgument');
    }
  });

  it('uses a custom reply function', async () => {
    const { origin } = await start({
      reply: (r) => ({ Status: 'OK', url: `https://cdn.example/${r.object}` }),
    });
    const res = await callback(origin, { object: 'x.png' });
    expect(res.json).toEqual({ Status: 'OK', url: 'https://cdn.example/x.png' });
  });

  // Issue 19: the dashboard's latencies were kept in memory and lost on restart.
  it('keeps how long it took to answer each callback with the record, across a restart', async () => {
    const dataDir = await tempDir();
    const first = await start({
      dataDir,
      // A sync hook that takes 50 ms: the measured time covers it.
      hooks: { onUpload: () => new Promise((resolve) => setTimeout(() => resolve(undefined), 50)) },
    });
    const id = (await callback(first.origin, { object: 'timed.txt' })).json as { id: number };
    const before = (await api<UploadJson>(first.origin, `/api/uploads/${id.id}`)).json.latencyMs;
    expect(before).toBeGreaterThanOrEqual(50);
    expect(before).toBeLessThan(5000);
    await running.pop()!.close();
    const second = await start({ dataDir });
    const page = (await api<Page>(second.origin, '/api/uploads')).json;
    expect(page.uploads.find((u) => u.object === 'timed.txt')?.latencyMs).toBe(before);
  });
});

describe('receiver app: hooks', () => {
  it('a sync hook may change the reply; past its budget the default reply is sent', async () => {
    const { origin } = await start({
      hooks: {
        syncBudgetMs: 100,
        onUpload: async (record, { signal }) => {
          if (record.vars['x:mode'] === 'slow') {
            await new Promise((resolve) => signal.addEventListener('abort', resolve));
            return { Status: 'late' };
          }
          if (record.vars['x:mode'] === 'pass') return undefined;
          return { Status: 'OK', greeting: `hello ${record.vars['x:mode']}` };
        },
      },
    });
    expect((await callback(origin, { object: 'a', 'x:mode': 'bob' })).json).toEqual({
      Status: 'OK',
      greeting: 'hello bob',
    });
    const slow = await callback(origin, { object: 'b', 'x:mode': 'slow' });
    expect(slow.json).toMatchObject({ Status: 'OK', object: 'b' });
    expect((await callback(origin, { object: 'c', 'x:mode': 'pass' })).json).toMatchObject({ object: 'c' });
  });

  it('a sync hook that throws answers 500 JSON but the upload stays recorded', async () => {
    const { origin } = await start({
      hooks: {
        onUpload: () => {
          throw new Error('boom');
        },
      },
    });
    const res = await callback(origin, { object: 'err.txt' });
    expect(res.status).toBe(500);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    const page = await api<Page>(origin, '/api/uploads');
    expect(page.json.uploads.map((u) => u.object)).toEqual(['err.txt']);
  });

  it('async hooks run after the reply and are retried with backoff until they succeed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { origin } = await start({
      hooks: {
        retry: { baseDelayMs: 10, maxDelayMs: 40 },
        pollIntervalMs: 10,
        afterUpload: {
          index: async () => {
            await gate; // the reply must not wait for this
          },
          notify: async (_record, { attempt }) => {
            calls++;
            if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
          },
        },
      },
    });
    const res = await callback(origin, { object: 'q.txt' });
    expect(res.status).toBe(200);
    const id = (res.json as { id: number }).id;
    release();
    await vi.waitFor(
      async () => {
        const detail = await api<UploadJson>(origin, `/api/uploads/${id}`);
        expect(detail.json.hooks).toEqual([
          expect.objectContaining({ hook: 'index', state: 'done', attempts: 1 }),
          expect.objectContaining({ hook: 'notify', state: 'done', attempts: 3 }),
        ]);
      },
      { timeout: 5000, interval: 20 },
    );
    expect(calls).toBe(3);
  });

  it('marks a job failed after maxAttempts, keeping the last error', async () => {
    const { origin, receiver } = await start({
      hooks: {
        retry: { maxAttempts: 2, baseDelayMs: 5 },
        pollIntervalMs: 10,
        afterUpload: {
          broken: () => {
            throw new Error('downstream is down');
          },
        },
      },
    });
    const id = ((await callback(origin, { object: 'f.txt' })).json as { id: number }).id;
    await vi.waitFor(
      async () => {
        expect(await receiver.jobs.jobsFor(id)).toEqual([
          expect.objectContaining({ state: 'failed', attempts: 2, lastError: 'downstream is down' }),
        ]);
      },
      { timeout: 5000, interval: 20 },
    );
  });

  it('pending jobs survive a restart and run in the next process', async () => {
    const dataDir = await tempDir();
    const first = await start({
      dataDir,
      hooks: {
        retry: { baseDelayMs: 50 },
        pollIntervalMs: 10,
        afterUpload: {
          notify: () => {
            throw new Error('not yet');
          },
        },
      },
    });
    const id = ((await callback(first.origin, { object: 'r.txt' })).json as { id: number }).id;
    await vi.waitFor(async () => {
      expect((await first.receiver.jobs.jobsFor(id))[0]).toMatchObject({ state: 'pending', attempts: 1 });
    });
    await first.receiver.close();
    running.splice(running.indexOf(first.receiver), 1);

    const delivered: string[] = [];
    const second = await start({
      dataDir,
      hooks: {
        pollIntervalMs: 10,
        afterUpload: {
          notify: (record) => {
            delivered.push(record.object!);
          },
        },
      },
    });
    await vi.waitFor(
      async () => {
        expect((await second.receiver.jobs.jobsFor(id))[0]).toMatchObject({ state: 'done', attempts: 2 });
      },
      { timeout: 5000, interval: 20 },
    );
    expect(delivered).toEqual(['r.txt']);
    const detail = await api<UploadJson>(second.origin, `/api/uploads/${id}`);
    expect(detail.json.object).toBe('r.txt');
  });

  it('a job left running by a crashed process runs again at the next start', async () => {
    const dataDir = await tempDir();
    const store = await openSqliteReceiverStore(dataDir);
    const id = await store.uploads.insert(
      {
        receivedAt: Date.now(),
        verified: true,
        object: 'crash.txt',
        vars: {},
        fields: { object: 'crash.txt' },
        bodyFormat: 'form',
        target: '/callback',
        headers: {},
        rawBody: Buffer.from('object=crash.txt'),
      },
      ['notify'],
    );
    expect(await store.jobs.claim(Date.now())).toMatchObject({ uploadId: id, state: 'running', attempts: 1 });
    await store.close(); // the process "dies" mid-job

    const delivered: string[] = [];
    const { receiver } = await start({
      dataDir,
      hooks: { pollIntervalMs: 10, afterUpload: { notify: (record) => void delivered.push(record.object!) } },
    });
    await vi.waitFor(async () => {
      expect((await receiver.jobs.jobsFor(id))[0]).toMatchObject({ state: 'done', attempts: 2 });
    });
    expect(delivered).toEqual(['crash.txt']);
  });
});
