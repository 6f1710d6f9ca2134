import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from './oss-error.ts';
import { isValidBucketName } from './bucket-name.ts';
import { decodeObjectKey, validateObjectKey } from './object-key.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : 'not an OssError';
  }
}

describe('object keys', () => {
  it.each(['a', 'a b', 'a+b', '100%', '../..', 'dir/', '文件', '😀', 'x'.repeat(1023)])(
    'accepts %j',
    (key) => {
      expect(code(() => validateObjectKey(key))).toBeUndefined();
    },
  );

  it.each([
    ['', 'InvalidObjectName'],
    ['/leading', 'InvalidObjectName'],
    ['\\leading', 'InvalidObjectName'],
    ['lone \uD800 surrogate', 'InvalidObjectName'],
    ['x'.repeat(1024), 'KeyTooLong'],
    ['文'.repeat(342), 'KeyTooLong'],
  ])('refuses %j with %s', (key, expected) => {
    expect(code(() => validateObjectKey(key))).toBe(expected);
  });

  it('decodes percent escapes byte-wise as strict UTF-8, leaving + alone', () => {
    expect(decodeObjectKey('a+b%20c')).toBe('a+b c');
    expect(decodeObjectKey('%E6%96%87')).toBe('文');
    expect(code(() => decodeObjectKey('%E6%96'))).toBe('InvalidObjectName');
    expect(code(() => decodeObjectKey('%G0'))).toBe('InvalidObjectName');
    expect(code(() => decodeObjectKey('abc%'))).toBe('InvalidObjectName');
  });

  it('inverts encodeURIComponent for every string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (key) => {
        expect(decodeObjectKey(encodeURIComponent(key))).toBe(key);
      }),
    );
  });
});

describe('bucket names', () => {
  it.each(['abc', 'a-b-c', 'x'.repeat(63), '123'])('accepts %j', (name) => {
    expect(isValidBucketName(name)).toBe(true);
  });
  it.each(['ab', 'x'.repeat(64), 'Abc', 'a_b', '-ab', 'ab-', 'a.b'])('refuses %j', (name) => {
    expect(isValidBucketName(name)).toBe(false);
  });
});
