import { describe, expect, it } from 'vitest';
import { isOssError } from '../../shared/oss-error.ts';
import { resolveTarget, virtualHostBucket } from './resolve-target.ts';

const none = new Set<string>();

describe('resolveTarget: virtual-host and path style', () => {
  it('takes the bucket from the first Host label (what ali-oss sends for an IP endpoint)', () => {
    expect(resolveTarget('photos.oss-cn-hangzhou.aliyuncs.com', '/a/b.jpg', none)).toEqual({
      bucket: 'photos',
      key: 'a/b.jpg',
    });
    expect(resolveTarget('photos.oss-cn-hangzhou.aliyuncs.com:8080', '/', none)).toEqual({
      bucket: 'photos',
    });
  });

  it('uses path style for IPs, localhost and configured hosts', () => {
    expect(resolveTarget('127.0.0.1:9000', '/photos/a/b.jpg', none)).toEqual({
      bucket: 'photos',
      key: 'a/b.jpg',
    });
    expect(resolveTarget('localhost:9000', '/photos', none)).toEqual({ bucket: 'photos' });
    expect(resolveTarget('[::1]:9000', '/photos/x', none)).toEqual({ bucket: 'photos', key: 'x' });
    expect(resolveTarget('oss.example.com', '/photos/x', new Set(['oss.example.com']))).toEqual({
      bucket: 'photos',
      key: 'x',
    });
    expect(resolveTarget('127.0.0.1', '/', none)).toEqual({});
    expect(virtualHostBucket('localhost', none)).toBeUndefined();
  });

  it('decodes the key once, keeping + and decoding %2B, unicode and trailing slashes', () => {
    const key = (raw: string) => resolveTarget('127.0.0.1', `/b-1/${raw}`, none).key;
    expect(key('a+b')).toBe('a+b');
    expect(key('a%2Bb%20c')).toBe('a+b c');
    expect(key('%E6%96%87/')).toBe('文/');
    expect(key('a%2525')).toBe('a%25');
    expect(key('../..')).toBe('../..');
  });

  it.each([
    ['/Bad_Bucket/k', 'InvalidBucketName'],
    ['/ab/k', 'InvalidBucketName'],
    ['/bucket/%ZZ', 'InvalidObjectName'],
    ['/bucket/%C3%28', 'InvalidObjectName'],
    ['/bucket/%5Cx', 'InvalidObjectName'],
    [`/bucket/${'k'.repeat(1024)}`, 'KeyTooLong'],
  ])('%s is %s', (path, code) => {
    try {
      resolveTarget('127.0.0.1', path, none);
      expect.unreachable();
    } catch (error) {
      expect(isOssError(error) && error.code).toBe(code);
    }
  });
});
