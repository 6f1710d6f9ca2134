import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalizedResource } from './canonical-resource.ts';
import {
  parseV1Authorization,
  v1Authorization,
  v1DateLine,
  v1Signature,
  v1StringToSign,
  verifyV1Signature,
} from './signature-v1.ts';

const signUtils = createRequire(import.meta.url)('ali-oss/lib/common/signUtils');

const DATE = 'Mon, 23 Nov 2026 09:40:00 GMT';

describe('v1StringToSign', () => {
  it('is byte-for-byte ali-oss buildCanonicalString for a PutObject with callback and STS headers', () => {
    const headers = {
      'x-oss-date': DATE,
      'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==',
      'content-type': 'image/jpeg',
      'x-oss-callback': 'eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjEvY2IifQ==',
      'x-oss-callback-var': 'eyJ4OmEiOiIxIn0=',
      'x-oss-security-token': 'CAIS-token',
      'x-oss-meta-owner': '  alice  ',
    };
    const ours = v1StringToSign({
      method: 'put',
      headers,
      date: v1DateLine(headers)!,
      canonicalizedResource: canonicalizedResource({ bucket: 'bkt', key: 'dir/a b.jpg' }, []),
    });
    const theirs = signUtils.buildCanonicalString('PUT', '/bkt/dir/a b.jpg', {
      headers,
      parameters: undefined,
    });
    expect(ours).toBe(theirs);
    expect(ours).toBe(
      [
        'PUT',
        '1B2M2Y8AsgTpgAmY7PhCfg==',
        'image/jpeg',
        DATE,
        'x-oss-callback:eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjEvY2IifQ==',
        'x-oss-callback-var:eyJ4OmEiOiIxIn0=',
        'x-oss-date:' + DATE,
        'x-oss-meta-owner:alice',
        'x-oss-security-token:CAIS-token',
        '/bkt/dir/a b.jpg',
      ].join('\n'),
    );
  });

  it('matches ali-oss with sub-resources (UploadPart) and no content headers', () => {
    const headers = { 'x-oss-date': DATE };
    const subres = { partNumber: '2', uploadId: '0004B9894A22E5B1888A1E29F823****' };
    const ours = v1StringToSign({
      method: 'PUT',
      headers,
      date: DATE,
      canonicalizedResource: canonicalizedResource({ bucket: 'bkt', key: 'big.bin' }, Object.entries(subres)),
    });
    expect(ours).toBe(signUtils.buildCanonicalString('PUT', '/bkt/big.bin', { headers, parameters: subres }));
  });

  it('matches ali-oss for random x-oss-* headers', () => {
    const name = fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((n) => `x-oss-meta-${n}`);
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.string({ unit: 'grapheme-ascii' })),
        fc.string({ minLength: 1 }),
        (meta, key) => {
          const headers = { 'x-oss-date': DATE, 'content-type': 'text/plain', ...meta };
          const ours = v1StringToSign({
            method: 'POST',
            headers,
            date: DATE,
            canonicalizedResource: canonicalizedResource({ bucket: 'b', key }, []),
          });
          expect(ours).toBe(signUtils.buildCanonicalString('POST', `/b/${key}`, { headers }));
        },
      ),
    );
  });
});

describe('v1DateLine', () => {
  it('prefers x-oss-date over Date (OSS V1 doc), falls back to Date, else undefined', () => {
    expect(v1DateLine({ 'x-oss-date': 'A', date: 'B' })).toBe('A');
    expect(v1DateLine({ date: 'B' })).toBe('B');
    expect(v1DateLine({})).toBeUndefined();
  });
});

describe('v1Signature / v1Authorization', () => {
  it('equals ali-oss computeSignature and authorization', () => {
    const sts = 'PUT\n\ntext/plain\n' + DATE + '\nx-oss-date:' + DATE + '\n/b/k';
    expect(v1Signature('secret', sts)).toBe(signUtils.computeSignature('secret', sts));
    expect(v1Authorization('ak', 'secret', sts)).toBe(signUtils.authorization('ak', 'secret', sts));
  });

  it('signs the UTF-8 bytes of non-ASCII keys as ali-oss does', () => {
    const sts = 'GET\n\n\n' + DATE + '\n/b/中文/文件.txt';
    expect(v1Signature('密钥', sts)).toBe(signUtils.computeSignature('密钥', sts));
  });

  it('verifies its own signature and rejects any change of secret or string-to-sign', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.string({ minLength: 1 }),
        (secret, sts, extra) => {
          const sig = v1Signature(secret, sts);
          expect(verifyV1Signature(secret, sts, sig)).toBe(true);
          expect(verifyV1Signature(secret, sts + extra, sig)).toBe(false);
          expect(verifyV1Signature(secret + extra, sts, sig)).toBe(false);
        },
      ),
    );
  });
});

describe('parseV1Authorization', () => {
  it('splits the access key id and signature', () => {
    expect(parseV1Authorization('OSS ak:abc+/=')).toEqual({ accessKeyId: 'ak', signature: 'abc+/=' });
    expect(parseV1Authorization('OSS STS.NTx:ab:cd')).toEqual({ accessKeyId: 'STS.NTx:ab', signature: 'cd' });
  });

  it('rejects malformed values', () => {
    for (const bad of [
      '',
      'OSS',
      'OSS ',
      'OSS ak',
      'OSS ak:',
      'OSS :sig',
      'AWS ak:sig',
      'oss ak:sig',
      'OSS a k:sig',
    ]) {
      expect(parseV1Authorization(bad), bad).toBeUndefined();
    }
  });
});
