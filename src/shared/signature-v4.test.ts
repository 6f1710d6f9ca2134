import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatV4Timestamp,
  normalizeAdditionalHeaders,
  parseV4Authorization,
  parseV4Credential,
  parseV4Timestamp,
  rfc3986Encode,
  v4Authorization,
  v4CanonicalQuery,
  v4CanonicalRequest,
  v4CanonicalUri,
  v4Signature,
  v4StringToSign,
  verifyV4Signature,
  type V4Scope,
} from './signature-v4.ts';

const signUtils = createRequire(import.meta.url)('ali-oss/lib/common/signUtils');

const TIMESTAMP = '20261123T094000Z';
const SCOPE: V4Scope = { date: '20261123', region: 'cn-hangzhou', product: 'oss' };

/** ali-oss's whole V4 Authorization header for a request (the oracle). */
function aliOssAuthorization(
  method: string,
  headers: Record<string, string>,
  queries: Record<string, string | null>,
  bucket: string | undefined,
  key: string | undefined,
  additional?: string[],
): string {
  return signUtils.authorizationV4(
    'ak',
    'sk',
    'cn-hangzhou',
    method,
    { headers, queries },
    bucket,
    key,
    additional,
  ) as string;
}

function ourAuthorization(
  method: string,
  headers: Record<string, string>,
  query: Array<[string, string]>,
  target: { bucket?: string; key?: string },
  additional: string[] = [],
  options: Parameters<typeof v4CanonicalQuery>[1] = {},
): string {
  const additionalHeaders = normalizeAdditionalHeaders(additional);
  const canonical = v4CanonicalRequest({
    method,
    target,
    query,
    headers,
    additionalHeaders,
    queryOptions: options,
  });
  const signature = v4Signature('sk', SCOPE, v4StringToSign(TIMESTAMP, SCOPE, canonical));
  return v4Authorization('ak', SCOPE, additionalHeaders, signature);
}

describe('rfc3986Encode / v4CanonicalUri', () => {
  it("escapes !'()* too and keeps / in the URI", () => {
    expect(rfc3986Encode("a b!'()*~")).toBe('a%20b%21%27%28%29%2A~');
    expect(v4CanonicalUri({ bucket: 'b', key: 'dir/a b+(1).txt' })).toBe('/b/dir/a%20b%2B%281%29.txt');
    expect(v4CanonicalUri({})).toBe('/');
    expect(v4CanonicalUri({ bucket: 'b' })).toBe('/b/');
  });
});

describe('v4CanonicalRequest', () => {
  it('is byte-for-byte ali-oss getCanonicalRequest for a PutObject with callback header', () => {
    const headers = {
      'x-oss-date': TIMESTAMP,
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
      'content-type': 'image/png',
      'content-md5': 'abc==',
      'x-oss-callback': 'e30=',
      host: 'bkt.localhost',
    };
    const ours = v4CanonicalRequest({
      method: 'PUT',
      target: { bucket: 'bkt', key: '中文/a b.png' },
      query: [],
      headers,
      additionalHeaders: ['host'],
    });
    const theirs = signUtils.getCanonicalRequest('PUT', { headers, queries: {} }, 'bkt', '中文/a b.png', [
      'host',
    ]);
    expect(ours).toBe(theirs);
  });

  it('matches ali-oss for value-less sub-resources (null in ali-oss, bare key)', () => {
    const headers = { 'x-oss-date': TIMESTAMP, 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' };
    expect(ourAuthorization('POST', headers, [['uploads', '']], { bucket: 'b', key: 'k' })).toBe(
      aliOssAuthorization('POST', headers, { uploads: null }, 'b', 'k'),
    );
    expect(
      ourAuthorization(
        'PUT',
        headers,
        [
          ['partNumber', '1'],
          ['uploadId', 'U+1'],
        ],
        { bucket: 'b', key: 'k' },
      ),
    ).toBe(aliOssAuthorization('PUT', headers, { partNumber: '1', uploadId: 'U+1' }, 'b', 'k'));
  });

  it("can write an empty ordinary query value as `key=` as ali-oss does for '' (emptyValue: equals)", () => {
    const headers = { 'x-oss-date': TIMESTAMP };
    const query: Array<[string, string]> = [
      ['prefix', ''],
      ['max-keys', '10'],
    ];
    expect(ourAuthorization('GET', headers, query, { bucket: 'b' }, [], { emptyValue: 'equals' })).toBe(
      aliOssAuthorization('GET', headers, { prefix: '', 'max-keys': '10' }, 'b', undefined),
    );
    expect(ourAuthorization('GET', headers, query, { bucket: 'b' })).not.toBe(
      aliOssAuthorization('GET', headers, { prefix: '', 'max-keys': '10' }, 'b', undefined),
    );
  });

  it('sorts by locale when asked, as ali-oss qs does, which differs from code-unit order for mixed case', () => {
    const query: Array<[string, string]> = [
      ['Zeta', '1'],
      ['alpha', '2'],
    ];
    expect(v4CanonicalQuery(query)).toBe('Zeta=1&alpha=2');
    expect(v4CanonicalQuery(query, { order: 'locale' })).toBe('alpha=2&Zeta=1');
    const headers = { 'x-oss-date': TIMESTAMP };
    expect(ourAuthorization('GET', headers, query, { bucket: 'b' }, [], { order: 'locale' })).toBe(
      aliOssAuthorization('GET', headers, { Zeta: '1', alpha: '2' }, 'b', undefined),
    );
  });

  it('agrees with ali-oss for random query values, object keys and additional headers', () => {
    const queryKey = fc.constantFrom(
      'acl',
      'uploadId',
      'partNumber',
      'prefix',
      'marker',
      'x-oss-process',
      'response-content-type',
    );
    fc.assert(
      fc.property(
        fc.dictionary(queryKey, fc.string({ minLength: 1 })),
        fc.string({ minLength: 1 }),
        fc.dictionary(
          fc.stringMatching(/^[a-z]{1,8}$/).map((n) => `x-oss-meta-${n}`),
          fc.string({ unit: 'grapheme-ascii' }),
        ),
        fc.boolean(),
        (query, key, meta, withHost) => {
          const headers: Record<string, string> = { 'x-oss-date': TIMESTAMP, ...meta };
          if (withHost) headers['host'] = 'b.example';
          const additional = withHost ? ['Host'] : [];
          expect(
            ourAuthorization('GET', headers, Object.entries(query), { bucket: 'b', key }, additional),
          ).toBe(aliOssAuthorization('GET', headers, query, 'b', key, additional));
        },
      ),
    );
  });
});

describe('v4StringToSign / v4Signature', () => {
  it('equals ali-oss getStringToSign and getSignatureV4', () => {
    const canonical = 'GET\n/b/k\n\nx-oss-date:' + TIMESTAMP + '\n\n\nUNSIGNED-PAYLOAD';
    const sts = v4StringToSign(TIMESTAMP, SCOPE, canonical);
    expect(sts).toBe(signUtils.getStringToSign('cn-hangzhou', TIMESTAMP, canonical));
    expect(v4Signature('sk', SCOPE, sts)).toBe(
      signUtils.getSignatureV4('sk', '20261123', 'cn-hangzhou', sts),
    );
    expect(verifyV4Signature('sk', SCOPE, sts, v4Signature('sk', SCOPE, sts))).toBe(true);
    expect(
      verifyV4Signature('sk', { ...SCOPE, region: 'cn-beijing' }, sts, v4Signature('sk', SCOPE, sts)),
    ).toBe(false);
    expect(verifyV4Signature('sk2', SCOPE, sts, v4Signature('sk', SCOPE, sts))).toBe(false);
  });
});

describe('normalizeAdditionalHeaders', () => {
  it('is ali-oss fixAdditionalHeaders', () => {
    const input = ['Host', 'content-type', 'X-Oss-Meta-A', 'range', 'host', 'Content-MD5'];
    expect(normalizeAdditionalHeaders(input)).toEqual(signUtils.fixAdditionalHeaders(input));
    expect(normalizeAdditionalHeaders(input)).toEqual(['host', 'range']);
  });
});

describe('parseV4Authorization', () => {
  it('round-trips what ali-oss sends', () => {
    const value = aliOssAuthorization('GET', { 'x-oss-date': TIMESTAMP, host: 'h' }, {}, 'b', 'k', ['host']);
    const parsed = parseV4Authorization(value);
    expect(parsed).toMatchObject({
      accessKeyId: 'ak',
      scope: SCOPE,
      additionalHeaders: ['host'],
    });
    expect(typeof parsed === 'object' && /^[0-9a-f]{64}$/.test(parsed.signature)).toBe(true);
  });

  it('tolerates spaces after commas and reports each kind of problem', () => {
    const cred = 'Credential=ak/20261123/cn-hangzhou/oss/aliyun_v4_request';
    expect(
      parseV4Authorization(`OSS4-HMAC-SHA256 ${cred}, AdditionalHeaders=host, Signature=ab`),
    ).toMatchObject({
      additionalHeaders: ['host'],
      signature: 'ab',
    });
    expect(parseV4Authorization('OSS4-HMAC-SHA256')).toBe('malformed');
    expect(parseV4Authorization(`OSS4-HMAC-SHA256 ${cred},Bogus=1,Signature=ab`)).toBe('malformed');
    expect(parseV4Authorization(`OSS4-HMAC-SHA256 ${cred},${cred},Signature=ab`)).toBe('malformed');
    expect(parseV4Authorization('OSS4-HMAC-SHA256 Signature=ab')).toBe('missing-credential');
    expect(
      parseV4Authorization('OSS4-HMAC-SHA256 Credential=ak/2026/cn/oss/aliyun_v4_request,Signature=ab'),
    ).toBe('invalid-credential');
    expect(parseV4Authorization(`OSS4-HMAC-SHA256 ${cred}`)).toBe('missing-signature');
    expect(parseV4Authorization(`OSS4-HMAC-SHA256 ${cred},AdditionalHeaders=host;;x,Signature=ab`)).toBe(
      'empty-additional-headers',
    );
  });
});

describe('parseV4Credential', () => {
  it('accepts a well-formed credential and rejects the rest', () => {
    expect(parseV4Credential('STS.x/20261123/cn-hangzhou/oss/aliyun_v4_request')).toEqual({
      accessKeyId: 'STS.x',
      scope: SCOPE,
    });
    for (const bad of [
      '',
      'ak/20261123/cn-hangzhou/oss',
      '/20261123/cn-hangzhou/oss/aliyun_v4_request',
      'ak/2026112/cn-hangzhou/oss/aliyun_v4_request',
      'ak/20261123//oss/aliyun_v4_request',
      'ak/20261123/cn-hangzhou/oss/aws4_request',
      'a k/20261123/cn-hangzhou/oss/aliyun_v4_request',
    ]) {
      expect(parseV4Credential(bad), bad).toBeUndefined();
    }
  });
});

describe('V4 timestamps', () => {
  it('formats as ali-oss dateformat does and parses back', () => {
    const date = new Date('2026-11-23T09:40:05.678Z');
    expect(formatV4Timestamp(date)).toBe('20261123T094005Z');
    expect(parseV4Timestamp('20261123T094005Z')?.toISOString()).toBe('2026-11-23T09:40:05.000Z');
  });

  it('rejects impossible or malformed timestamps', () => {
    for (const bad of [
      '20261323T000000Z',
      '20260230T000000Z',
      '20261123T240000Z',
      '20261123T094005',
      '2026-11-23T09:40:05Z',
      '',
    ]) {
      expect(parseV4Timestamp(bad), bad).toBeUndefined();
    }
  });
});
