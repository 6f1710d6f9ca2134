/**
 * One behavioural suite for every CallbackLog (src/store/callback-log.ts): run against the memory
 * and the fs (SQLite) backends by callback-log.test.ts, and by any later backend the same way.
 */
import { describe, expect, it } from 'vitest';
import type {
  CallbackDelivery,
  CallbackLog,
  CallbackLogEntry,
  CallbackLogWrite,
} from '../../src/store/callback-log.ts';

export interface CallbackLogUnderTest {
  log: CallbackLog;
  dispose(): Promise<void>;
}

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);

function delivery(ok: boolean, atMs: number, redelivery = false): CallbackDelivery {
  return {
    at: new Date(atMs),
    ok,
    message: ok ? '' : 'Error status : 503.',
    latencyMs: 3,
    attempts: [
      { url: 'http://a.example/cb', ok: false, message: 'Error status : 503.', latencyMs: 1 },
      ...(ok ? [{ url: 'http://b.example/cb', ok: true, message: '', latencyMs: 2 }] : []),
    ],
    ...(ok && { reply: '{"Status":"OK"}' }),
    redelivery,
  };
}

function first(
  n: number,
  options: { ok?: boolean; bucket?: string; key?: string; atMs?: number } = {},
): CallbackLogWrite {
  return {
    kind: 'first',
    entry: {
      requestId: `REQ${String(n).padStart(21, '0')}`,
      bucket: options.bucket ?? 'photos',
      key: options.key ?? `k/${n}.jpg`,
      operation: 'PutObject',
      request: {
        urls: ['http://a.example/cb', 'http://b.example/cb'],
        host: 'app.example',
        bodyType: 'application/json',
        sni: false,
        body: Buffer.from(`{"n":${n},"é":"\u00e9"}`),
      },
    },
    delivery: delivery(options.ok ?? false, options.atMs ?? T0 + n * 1000),
  };
}

const id = (n: number): string => `REQ${String(n).padStart(21, '0')}`;
const ids = (entries: CallbackLogEntry[]): string[] => entries.map((e) => e.requestId);

export function runCallbackLogContract(name: string, open: () => Promise<CallbackLogUnderTest>): void {
  describe(`CallbackLog contract: ${name}`, () => {
    const withLog = (test: (log: CallbackLog) => Promise<void>) => async () => {
      const underTest = await open();
      try {
        await test(underTest.log);
      } finally {
        await underTest.dispose();
      }
    };

    it(
      'keeps what was sent, byte for byte, and every delivery in order',
      withLog(async (log) => {
        await log.record([first(1)]);
        await log.record([
          { kind: 'redelivery', requestId: id(1), delivery: delivery(true, T0 + 5000, true) },
        ]);
        const entry = await log.get(id(1));
        expect(entry).toMatchObject({
          requestId: id(1),
          bucket: 'photos',
          key: 'k/1.jpg',
          operation: 'PutObject',
          createdAt: new Date(T0 + 1000),
          request: {
            urls: ['http://a.example/cb', 'http://b.example/cb'],
            host: 'app.example',
            bodyType: 'application/json',
            sni: false,
          },
        });
        expect(entry?.request.body.equals(Buffer.from('{"n":1,"é":"\u00e9"}'))).toBe(true);
        expect(entry?.deliveries).toEqual([delivery(false, T0 + 1000), delivery(true, T0 + 5000, true)]);
        expect(await log.get('unknown')).toBeUndefined();
      }),
    );

    it(
      'lists newest first, filters failed / bucket / key / since, and a success clears failed',
      withLog(async (log) => {
        await log.record([
          first(1),
          first(2, { ok: true }),
          first(3, { bucket: 'other' }),
          first(4, { key: 'special' }),
        ]);
        expect(ids((await log.list({ limit: 10 })).entries)).toEqual([id(4), id(3), id(2), id(1)]);
        expect(ids((await log.list({ limit: 10, failed: true })).entries)).toEqual([id(4), id(3), id(1)]);
        expect(ids((await log.list({ limit: 10, bucket: 'other' })).entries)).toEqual([id(3)]);
        expect(ids((await log.list({ limit: 10, key: 'special' })).entries)).toEqual([id(4)]);
        expect(ids((await log.list({ limit: 10, since: new Date(T0 + 3000) })).entries)).toEqual([
          id(4),
          id(3),
        ]);
        await log.record([
          { kind: 'redelivery', requestId: id(1), delivery: delivery(true, T0 + 9000, true) },
        ]);
        expect(ids((await log.list({ limit: 10, failed: true })).entries)).toEqual([id(4), id(3)]);
        // A later failure makes it failed again: the latest delivery decides.
        await log.record([
          { kind: 'redelivery', requestId: id(1), delivery: delivery(false, T0 + 9500, true) },
        ]);
        expect(ids((await log.list({ limit: 10, failed: true })).entries)).toEqual([id(4), id(3), id(1)]);
      }),
    );

    it(
      'pages with a marker, each entry once, even after newer entries arrive',
      withLog(async (log) => {
        await log.record([1, 2, 3, 4, 5].map((n) => first(n)));
        const one = await log.list({ limit: 2 });
        expect(ids(one.entries)).toEqual([id(5), id(4)]);
        expect(one.nextMarker).toBeDefined();
        await log.record([first(6)]);
        const two = await log.list({ limit: 2, marker: one.nextMarker! });
        expect(ids(two.entries)).toEqual([id(3), id(2)]);
        const three = await log.list({ limit: 2, marker: two.nextMarker! });
        expect(ids(three.entries)).toEqual([id(1)]);
        expect(three.nextMarker).toBeUndefined();
      }),
    );

    it(
      'a second first-delivery of a request id changes nothing; a redelivery of an unknown one is dropped',
      withLog(async (log) => {
        await log.record([first(1)]);
        await log.record([{ ...first(1, { ok: true }) }]);
        await log.record([{ kind: 'redelivery', requestId: 'gone', delivery: delivery(true, T0, true) }]);
        const entry = await log.get(id(1));
        expect(entry?.deliveries).toHaveLength(1);
        expect(entry?.deliveries[0]?.ok).toBe(false);
        expect((await log.list({ limit: 10 })).entries).toHaveLength(1);
      }),
    );

    it(
      'prunes by age and by count, oldest first',
      withLog(async (log) => {
        await log.record([1, 2, 3, 4, 5, 6].map((n) => first(n)));
        // Entries 1 and 2 are older than 4.5 s before T0 + 7 s.
        expect(await log.prune(new Date(T0 + 7000), { maxAgeMs: 4500, maxEntries: 100 })).toBe(2);
        expect(ids((await log.list({ limit: 10 })).entries)).toEqual([id(6), id(5), id(4), id(3)]);
        expect(await log.prune(new Date(T0 + 7000), { maxAgeMs: 1e9, maxEntries: 3 })).toBe(1);
        expect(ids((await log.list({ limit: 10 })).entries)).toEqual([id(6), id(5), id(4)]);
        expect(await log.prune(new Date(T0 + 7000), { maxAgeMs: 1e9, maxEntries: 3 })).toBe(0);
      }),
    );
  });
}
