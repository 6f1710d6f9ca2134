import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import { objectAclHeader, taggingHeader } from './object-settings.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : String(error);
  }
}

describe('x-oss-tagging', () => {
  it('round-trips any tag set within the limits, encoded as OSS asks (property)', () => {
    const tag = fc.record({
      key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      value: fc.string({ unit: 'grapheme', maxLength: 20 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(tag, { maxLength: 10, selector: (t) => t.key }), (tags) => {
        const header = tags
          .map((t) => `${encodeURIComponent(t.key)}=${encodeURIComponent(t.value)}`)
          .join('&');
        expect(taggingHeader({ 'x-oss-tagging': header })).toEqual(header === '' ? [] : tags);
      }),
    );
  });

  it('reads a pair without = as an empty value, and + as a space', () => {
    expect(taggingHeader({ 'x-oss-tagging': 'flag&a+b=c+d' })).toEqual([
      { key: 'flag', value: '' },
      { key: 'a b', value: 'c d' },
    ]);
    expect(taggingHeader({})).toBeUndefined();
  });

  it.each([
    ['aa=bb=cc', 'InvalidArgument'],
    ['a=%E0%A4%A', 'InvalidArgument'],
    ['=v', 'InvalidTag'],
    ['a=1&a=2', 'InvalidTag'],
    [`${'k'.repeat(129)}=v`, 'InvalidTag'],
    [`k=${'v'.repeat(257)}`, 'InvalidTag'],
    [Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&'), 'InvalidTag'],
  ])('refuses %s with %s', (header, code) => {
    expect(codeOf(() => taggingHeader({ 'x-oss-tagging': header }))).toBe(code);
  });

  it('counts lengths in characters: 128 CJK characters make a valid key', () => {
    const key = '标'.repeat(128);
    expect(taggingHeader({ 'x-oss-tagging': `${encodeURIComponent(key)}=v` })).toEqual([{ key, value: 'v' }]);
  });
});

describe('x-oss-object-acl', () => {
  it('accepts the four OSS values and nothing else', () => {
    for (const acl of ['default', 'private', 'public-read', 'public-read-write'])
      expect(objectAclHeader({ 'x-oss-object-acl': acl })).toBe(acl);
    expect(objectAclHeader({})).toBeUndefined();
    for (const bad of ['', 'public', 'Private', 'public-write'])
      expect(codeOf(() => objectAclHeader({ 'x-oss-object-acl': bad }))).toBe('InvalidArgument');
  });
});
