import { describe, expect, it } from 'vitest';
import { retryDelayMs, runSyncHook } from './upload-hooks.ts';
import type { UploadRecord } from './upload-record.ts';

const record: UploadRecord = {
  id: 1,
  receivedAt: 0,
  verified: true,
  vars: {},
  fields: {},
  bodyFormat: 'form',
  target: '/callback',
  headers: {},
  rawBody: new Uint8Array(0),
};

describe('upload hooks', () => {
  it('backs off exponentially from baseDelayMs, capped at maxDelayMs', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 10].map((a) => retryDelayMs(a, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelayMs(1, {})).toBe(1000);
    expect(retryDelayMs(30, {})).toBe(300_000);
  });

  it('runSyncHook: a value replaces the reply, undefined keeps the default, a throw propagates', async () => {
    expect(await runSyncHook(() => ({ Status: 'OK', x: 1 }), record, 1000)).toEqual({
      kind: 'reply',
      value: { Status: 'OK', x: 1 },
    });
    expect(await runSyncHook(async () => undefined, record, 1000)).toEqual({ kind: 'default' });
    await expect(
      runSyncHook(
        () => {
          throw new Error('boom');
        },
        record,
        1000,
      ),
    ).rejects.toThrow('boom');
  });

  it('runSyncHook: past the budget the outcome is timeout and the hook sees its signal abort', async () => {
    let aborted = false;
    const outcome = await runSyncHook(
      (_r, { signal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ late: true });
          });
        }),
      record,
      20,
    );
    expect(outcome).toEqual({ kind: 'timeout' });
    expect(aborted).toBe(true);
  });
});
