import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import { resolveRange } from './range.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : 'not an OssError';
  }
}

describe('resolveRange (GetObject Range, OSS default behaviour)', () => {
  it.each([
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=2-5', { start: 2, end: 5 }],
    ['bytes=7-', { start: 7, end: 9 }],
    ['bytes=-3', { start: 7, end: 9 }],
    ['bytes=-100', { start: 0, end: 9 }],
    ['bytes=8-100', { start: 8, end: 9 }],
    [' bytes=1-2 ', { start: 1, end: 2 }],
  ])('%s on 10 bytes', (header, expected) => {
    expect(resolveRange(header, 10)).toEqual(expected);
  });

  it.each(['bytes=0-1,3-4', 'bytes=abc', 'items=0-1', 'bytes=5-2', 'bytes=-', 'bytes=1.5-2', ''])(
    'ignores %j (whole object)',
    (header) => {
      expect(resolveRange(header, 10)).toBeUndefined();
    },
  );

  it.each(['bytes=10-', 'bytes=10-20', 'bytes=1000-', 'bytes=-0'])(
    '%s on 10 bytes is InvalidRange',
    (header) => {
      expect(code(() => resolveRange(header, 10))).toBe('InvalidRange');
    },
  );

  it('returns no header as the whole object', () => {
    expect(resolveRange(undefined, 10)).toBeUndefined();
  });

  it('always yields a range inside the object, or throws InvalidRange, for any a-b', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.option(fc.nat(2000)), fc.option(fc.nat(2000)), (size, a, b) => {
        const header = `bytes=${a ?? ''}-${b ?? ''}`;
        let range;
        try {
          range = resolveRange(header, size);
        } catch (error) {
          expect(isOssError(error) && error.code).toBe('InvalidRange');
          return;
        }
        if (range === undefined) return;
        expect(range.start).toBeGreaterThanOrEqual(0);
        expect(range.end).toBeLessThan(size);
        expect(range.start).toBeLessThanOrEqual(range.end);
      }),
    );
  });
});
