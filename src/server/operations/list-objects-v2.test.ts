import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeContinuationToken, encodeContinuationToken } from './list-objects-v2.ts';

describe('continuation tokens', () => {
  it('property: every key or prefix round-trips through its token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }), (after) => {
        const token = encodeContinuationToken(after);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeContinuationToken(token)).toBe(after);
      }),
    );
  });

  it('refuses tokens it could not have issued', () => {
    for (const token of ['a+b/c=', 'not a token', '____', '//', '=']) {
      expect(() => decodeContinuationToken(token)).toThrow(
        expect.objectContaining({ code: 'InvalidArgument' }),
      );
    }
  });
});
