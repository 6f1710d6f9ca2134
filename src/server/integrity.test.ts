import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc64 } from '../shared/crc64.ts';
import { isOssError } from '../shared/oss-error.ts';
import type { StoredObject } from '../store/object-store.ts';
import { integrityCheck } from './integrity.ts';

const body = Buffer.from('hello');
const received: StoredObject = {
  bucket: 'b',
  key: 'k',
  size: body.length,
  etag: createHash('md5').update(body).digest('hex').toUpperCase(),
  contentMd5: createHash('md5').update(body).digest('base64'),
  crc64: crc64(body).toString(),
  lastModified: new Date(),
  type: 'Normal',
  meta: { contentType: 'text/plain', userMeta: {} },
  acl: 'default',
  tags: [],
  storageClass: 'Standard',
};

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : 'not an OssError';
  }
}

describe('integrityCheck (Content-MD5, x-oss-hash-crc64ecma)', () => {
  it('has nothing to check when the client promised nothing', () => {
    expect(integrityCheck({})).toBeUndefined();
  });

  it('accepts matching digests, from contentMd5 or from the ETag', () => {
    const check = integrityCheck({
      'content-md5': received.contentMd5!,
      'x-oss-hash-crc64ecma': received.crc64,
    });
    expect(code(() => check?.(received))).toBeUndefined();
    const { contentMd5: _dropped, ...withoutMd5 } = received;
    expect(code(() => check?.(withoutMd5))).toBeUndefined();
  });

  it('refuses a malformed Content-MD5 before the body is read (InvalidDigest)', () => {
    for (const value of ['abc', 'XUFAKrxLKna5cZ2REBfFkg', createHash('md5').update(body).digest('hex')]) {
      expect(
        code(() => integrityCheck({ 'content-md5': value })),
        value,
      ).toBe('InvalidDigest');
    }
  });

  it('refuses a CRC64 that is not an unsigned 64-bit decimal (InvalidArgument)', () => {
    for (const value of ['-1', 'abc', '18446744073709551616', '1.5']) {
      expect(
        code(() => integrityCheck({ 'x-oss-hash-crc64ecma': value })),
        value,
      ).toBe('InvalidArgument');
    }
  });

  it('refuses a body that differs (BadDigest, InvalidCRC64)', () => {
    const otherMd5 = createHash('md5').update('other').digest('base64');
    expect(code(() => integrityCheck({ 'content-md5': otherMd5 })?.(received))).toBe('BadDigest');
    expect(code(() => integrityCheck({ 'x-oss-hash-crc64ecma': '1' })?.(received))).toBe('InvalidCRC64');
  });
});
