import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalizedResource, resourcePath } from './canonical-resource.ts';

const signUtils = createRequire(import.meta.url)('ali-oss/lib/common/signUtils');
/** ali-oss's own CanonicalizedResource for a subres object (the oracle). */
function aliOss(resource: string, subres: Record<string, string> | undefined): string {
  return signUtils.buildCanonicalizedResource(resource, subres) as string;
}

describe('resourcePath', () => {
  it('is / without a bucket, /bucket/ without a key, /bucket/key otherwise', () => {
    expect(resourcePath({})).toBe('/');
    expect(resourcePath({ bucket: '' })).toBe('/');
    expect(resourcePath({ bucket: 'b' })).toBe('/b/');
    expect(resourcePath({ bucket: 'b', key: 'a/b c.txt' })).toBe('/b/a/b c.txt');
  });
});

describe('canonicalizedResource', () => {
  it('matches ali-oss for the multipart and append sub-resources (SPEC.md §8.3 table)', () => {
    const cases: Array<Record<string, string>> = [
      { uploads: '' },
      { partNumber: '3', uploadId: 'ABC123' },
      { uploadId: 'ABC123' },
      { append: '', position: '0' },
      { acl: '' },
      { 'response-content-type': 'text/plain', 'security-token': 'tok+/=' },
    ];
    for (const subres of cases) {
      expect(canonicalizedResource({ bucket: 'bkt', key: 'dir/obj.txt' }, Object.entries(subres))).toBe(
        aliOss('/bkt/dir/obj.txt', subres),
      );
    }
  });

  it('writes a sub-resource with an empty wire value as the bare key (`uploads=` → `?uploads`)', () => {
    const query = new URLSearchParams('uploads=');
    expect(canonicalizedResource({ bucket: 'b', key: 'k' }, query)).toBe('/b/k?uploads');
  });

  it('drops unsigned query parameters and keeps sorted signed ones', () => {
    const query = new URLSearchParams('prefix=a&max-keys=10&uploadId=U&partNumber=1&marker=z');
    expect(canonicalizedResource({ bucket: 'b', key: 'k' }, query)).toBe('/b/k?partNumber=1&uploadId=U');
    expect(canonicalizedResource({ bucket: 'b' }, new URLSearchParams('prefix=a'))).toBe('/b/');
  });

  it('uses decoded values, unencoded, and the first of repeated keys', () => {
    const query = new URLSearchParams(
      'response-content-disposition=attachment%3B%20filename%3D%22a%20b%22&acl=x&acl=y',
    );
    expect(canonicalizedResource({ bucket: 'b', key: 'k' }, query)).toBe(
      '/b/k?acl=x&response-content-disposition=attachment; filename="a b"',
    );
  });

  it('agrees with ali-oss for random sets of signed sub-resources', () => {
    const key = fc.constantFrom(
      'acl',
      'uploadId',
      'partNumber',
      'callback',
      'callback-var',
      'security-token',
      'response-expires',
      'x-oss-process',
      'versionId',
      'tagging',
    );
    fc.assert(
      fc.property(fc.dictionary(key, fc.string()), fc.string({ minLength: 1 }), (subres, objectKey) => {
        expect(canonicalizedResource({ bucket: 'bkt', key: objectKey }, Object.entries(subres))).toBe(
          aliOss(`/bkt/${objectKey}`, subres),
        );
      }),
    );
  });
});
