import { describe, expect, it } from 'vitest';
import { isSignedSubResource } from './sub-resources.ts';

describe('isSignedSubResource', () => {
  it('signs every sub-resource the callback flows and ali-oss use (SPEC.md §8.3)', () => {
    for (const key of [
      'acl',
      'uploads',
      'uploadId',
      'partNumber',
      'append',
      'position',
      'tagging',
      'versionId',
      'restore',
      'symlink',
      'callback',
      'callback-var',
      'security-token',
      'delete',
      'cors',
      'lifecycle',
      'bucketInfo',
      'location',
      'objectMeta',
      'continuation-token',
    ]) {
      expect(isSignedSubResource(key), key).toBe(true);
    }
  });

  it('signs response-* overrides and every x-oss-* query key by prefix', () => {
    expect(isSignedSubResource('response-content-type')).toBe(true);
    expect(isSignedSubResource('response-content-disposition')).toBe(true);
    expect(isSignedSubResource('x-oss-process')).toBe(true);
    expect(isSignedSubResource('x-oss-traffic-limit')).toBe(true);
  });

  it('leaves listing and unknown parameters unsigned', () => {
    for (const key of [
      'prefix',
      'marker',
      'max-keys',
      'delimiter',
      'encoding-type',
      'list-type',
      'foo',
      'Uploads',
      'ACL',
    ]) {
      expect(isSignedSubResource(key), key).toBe(false);
    }
  });

  it('is case-sensitive, as OSS is (uploadId, not uploadid)', () => {
    expect(isSignedSubResource('uploadid')).toBe(false);
    expect(isSignedSubResource('partnumber')).toBe(false);
  });
});
