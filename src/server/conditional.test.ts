import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import type { StoredObject } from '../store/object-store.ts';
import { evaluateConditions } from './conditional.ts';

const object: StoredObject = {
  bucket: 'b',
  key: 'k',
  size: 1,
  etag: 'ABCDEF0123456789ABCDEF0123456789',
  crc64: '0',
  lastModified: new Date('2026-01-02T03:04:05.678Z'),
  type: 'Normal',
  meta: { contentType: 'text/plain', userMeta: {} },
  acl: 'default',
  tags: [],
  storageClass: 'Standard',
};
const etag = `"${object.etag}"`;
const lastModified = 'Fri, 02 Jan 2026 03:04:05 GMT';
const earlier = 'Thu, 01 Jan 2026 00:00:00 GMT';

function outcome(headers: Record<string, string>, prefix = ''): string {
  try {
    return evaluateConditions(headers, object, prefix);
  } catch (error) {
    return isOssError(error) ? `${error.code}:${error.details['Condition']}` : 'not an OssError';
  }
}

describe('evaluateConditions (RFC 7232 order, OSS statuses)', () => {
  it.each([
    [{}, 'proceed'],
    [{ 'if-match': etag }, 'proceed'],
    [{ 'if-match': `"0", ${etag.toLowerCase()}` }, 'proceed'],
    [{ 'if-match': '*' }, 'proceed'],
    [{ 'if-match': '"0"' }, 'PreconditionFailed:If-Match'],
    [{ 'if-unmodified-since': lastModified }, 'proceed'],
    [{ 'if-unmodified-since': earlier }, 'PreconditionFailed:If-Unmodified-Since'],
    [{ 'if-match': etag, 'if-unmodified-since': earlier }, 'proceed'],
    [{ 'if-none-match': etag }, 'not-modified'],
    [{ 'if-none-match': `W/${etag}` }, 'not-modified'],
    [{ 'if-none-match': '"0"' }, 'proceed'],
    [{ 'if-modified-since': lastModified }, 'not-modified'],
    [{ 'if-modified-since': earlier }, 'proceed'],
    [{ 'if-none-match': '"0"', 'if-modified-since': lastModified }, 'proceed'],
    [{ 'if-modified-since': 'not a date' }, 'proceed'],
    [{ 'if-match': '"0"', 'if-none-match': etag }, 'PreconditionFailed:If-Match'],
  ])('%j → %s', (headers, expected) => {
    expect(outcome(headers)).toBe(expected);
  });

  it('reads the x-oss-copy-source- forms for copies', () => {
    expect(outcome({ 'x-oss-copy-source-if-match': '"0"' }, 'x-oss-copy-source-')).toBe(
      'PreconditionFailed:If-Match',
    );
    expect(outcome({ 'if-match': '"0"' }, 'x-oss-copy-source-')).toBe('proceed');
  });
});
