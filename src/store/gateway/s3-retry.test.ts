import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay, isRetryableAnswer, unavailableReason, type RetryPolicy } from './s3-retry.ts';

const POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 400 };

describe('backoffDelay', () => {
  it('draws uniformly below a cap that doubles per attempt up to maxDelayMs', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, POLICY, () => 1))).toEqual([
      50, 100, 200, 400, 400,
    ]);
    expect(backoffDelay(3, POLICY, () => 0)).toBe(0);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelay(attempt, POLICY, () => r);
          return delay >= 0 && delay <= POLICY.maxDelayMs;
        },
      ),
    );
  });
});

describe('isRetryableAnswer', () => {
  it('retries 500, 502, 503, 504 and SlowDown, nothing a client caused', () => {
    for (const status of [500, 502, 503, 504]) expect(isRetryableAnswer(status, 'X')).toBe(true);
    expect(isRetryableAnswer(400, 'SlowDown')).toBe(true);
    for (const [status, code] of [
      [403, 'SignatureDoesNotMatch'],
      [404, 'NoSuchKey'],
      [501, 'NotImplemented'],
      [400, 'BadDigest'],
    ] as const) {
      expect(isRetryableAnswer(status, code)).toBe(false);
    }
  });
});

describe('unavailableReason', () => {
  it('names network failures, including one wrapped in an AggregateError', () => {
    expect(unavailableReason(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    const aggregate = new AggregateError([
      new Error('no code'),
      Object.assign(new Error('y'), { code: 'ECONNRESET' }),
    ]);
    expect(unavailableReason(aggregate)).toBe('ECONNRESET');
    expect(
      unavailableReason(Object.assign(new Error('z'), { code: 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' })),
    ).toBe(undefined);
    expect(unavailableReason(new TypeError('bad header'))).toBe(undefined);
    expect(unavailableReason('ECONNREFUSED')).toBe(undefined);
  });
});
