import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  encodePostPolicy,
  signPostPolicyV1,
  signPostPolicyV4,
  type PostPolicyDocument,
} from './post-policy.ts';

interface AliOssPostSigner {
  calculatePostSignature(policy: object): { OSSAccessKeyId: string; Signature: string; policy: string };
  signPostObjectPolicyV4(policy: object, date: Date): string;
}
const OSS = createRequire(import.meta.url)('ali-oss') as new (
  options: Record<string, unknown>,
) => AliOssPostSigner;
const client = new OSS({
  accessKeyId: 'ak',
  accessKeySecret: 'sk',
  bucket: 'bkt',
  region: 'oss-cn-hangzhou',
});

const DOCUMENT: PostPolicyDocument = {
  expiration: '2026-11-23T10:15:00.000Z',
  conditions: [
    { bucket: 'bkt' },
    ['starts-with', '$key', 'user-dirs/'],
    ['content-length-range', 0, 1048576000],
    ['eq', '$success_action_status', '200'],
    ['in', '$content-type', ['image/jpeg', 'image/png']],
    { 'x-oss-meta-名字': '中文' },
  ],
};

describe('PostObject policy signing', () => {
  it('V1 equals ali-oss calculatePostSignature (policy field and Signature)', () => {
    const theirs = client.calculatePostSignature(DOCUMENT);
    const policy = encodePostPolicy(DOCUMENT);
    expect(policy).toBe(theirs.policy);
    expect(signPostPolicyV1('sk', policy)).toBe(theirs.Signature);
  });

  it('V4 equals ali-oss signPostObjectPolicyV4', () => {
    const date = new Date('2026-11-23T10:00:00Z');
    const signature = signPostPolicyV4(
      'sk',
      { date: '20261123', region: 'cn-hangzhou', product: 'oss' },
      encodePostPolicy(DOCUMENT),
    );
    expect(signature).toBe(client.signPostObjectPolicyV4(DOCUMENT, date));
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('agrees with ali-oss for random prefixes and size limits', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.nat(), (prefix, a, b) => {
        const document: PostPolicyDocument = {
          expiration: '2030-01-01T00:00:00.000Z',
          conditions: [
            ['starts-with', '$key', prefix],
            ['content-length-range', Math.min(a, b), Math.max(a, b)],
          ],
        };
        const theirs = client.calculatePostSignature(document);
        expect(signPostPolicyV1('sk', encodePostPolicy(document))).toBe(theirs.Signature);
      }),
    );
  });
});
