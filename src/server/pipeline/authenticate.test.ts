import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalizedResource } from '../../shared/canonical-resource.ts';
import { isOssError, type OssError } from '../../shared/oss-error.ts';
import { encodeQuery, presignV1, presignV4 } from '../../shared/presigned-url.ts';
import { mintTemporaryCredentials } from '../../shared/security-token.ts';
import { v1Authorization, v1StringToSign } from '../../shared/signature-v1.ts';
import {
  formatV4Timestamp,
  v4Authorization,
  v4CanonicalRequest,
  v4Signature,
  v4StringToSign,
  type V4Scope,
} from '../../shared/signature-v4.ts';
import {
  authenticate,
  authorizeAction,
  DEFAULT_MAX_SKEW_MS,
  type AuthenticateRequest,
} from './authenticate.ts';

const NOW = new Date('2026-11-23T10:00:00Z');
const GMT = NOW.toUTCString();
const deps = {
  credentials: (id: string) => (id === 'ak' ? 'sk' : undefined),
  now: () => NOW,
  maxSkewMs: DEFAULT_MAX_SKEW_MS,
};

interface Signable {
  method: string;
  bucket?: string;
  key?: string;
  query?: string;
  headers?: Record<string, string>;
}

function v1Request(input: Signable, secret = 'sk', id = 'ak'): AuthenticateRequest {
  const headers: Record<string, string> = { 'x-oss-date': GMT, ...input.headers };
  const query = new URLSearchParams(input.query ?? '');
  const target = { bucket: input.bucket, key: input.key };
  const sts = v1StringToSign({
    method: input.method,
    headers,
    date: headers['x-oss-date'] ?? headers['date'] ?? '',
    canonicalizedResource: canonicalizedResource(target, query),
  });
  headers['authorization'] = v1Authorization(id, secret, sts);
  return { method: input.method, rawPath: '/', query, headers, ...target };
}

function v4Request(
  input: Signable,
  secret = 'sk',
  id = 'ak',
  additional: string[] = [],
): AuthenticateRequest {
  const timestamp = formatV4Timestamp(NOW);
  const scope: V4Scope = { date: timestamp.slice(0, 8), region: 'cn-hangzhou', product: 'oss' };
  const headers: Record<string, string> = {
    'x-oss-date': timestamp,
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    ...input.headers,
  };
  const query = new URLSearchParams(input.query ?? '');
  const target = { bucket: input.bucket, key: input.key };
  const canonical = v4CanonicalRequest({
    method: input.method,
    target,
    query,
    headers,
    additionalHeaders: additional,
  });
  const signature = v4Signature(secret, scope, v4StringToSign(timestamp, scope, canonical));
  headers['authorization'] = v4Authorization(id, scope, additional, signature);
  return { method: input.method, rawPath: '/', query, headers, ...target };
}

function failure(request: AuthenticateRequest, d = deps): OssError {
  try {
    authenticate(request, d);
  } catch (error) {
    if (isOssError(error)) return error;
    throw error;
  }
  throw new Error('authenticate accepted the request');
}

const ROOT = { kind: 'root', accessKeyId: 'ak' };

describe('authenticate: detection', () => {
  it('is anonymous without Authorization or signature query parameters', () => {
    expect(
      authenticate(
        { method: 'GET', rawPath: '/k', query: new URLSearchParams('prefix=a'), headers: {} },
        deps,
      ),
    ).toEqual({
      kind: 'anonymous',
    });
  });

  it('refuses an Authorization header of an unknown scheme or shape with InvalidArgument', () => {
    for (const value of ['Bearer x', 'OSS ak', 'OSS4-HMAC-SHA256 Credential=ak/x', 'AWS ak:sig']) {
      const error = failure({
        method: 'GET',
        rawPath: '/',
        query: new URLSearchParams(),
        headers: { authorization: value },
      });
      expect(error.code, value).toBe('InvalidArgument');
      expect(error.status).toBe(400);
    }
  });
});

describe.each([
  ['V1 header', v1Request],
  ['V4 header', v4Request],
] as const)('authenticate: %s', (_name, sign) => {
  const put: Signable = {
    method: 'PUT',
    bucket: 'bkt',
    key: 'dir/a b.txt',
    query: 'partNumber=1&uploadId=U1',
    headers: { 'content-type': 'text/plain', 'content-md5': 'abc==', 'x-oss-meta-a': '1' },
  };

  it('accepts a correctly signed request as the root principal', () => {
    expect(authenticate(sign(put), deps)).toEqual(ROOT);
  });

  it('fails with SignatureDoesNotMatch when any signed part changes', () => {
    const tamper: Array<(r: AuthenticateRequest) => AuthenticateRequest> = [
      (r) => ({ ...r, method: 'POST' }),
      (r) => ({ ...r, key: 'dir/other.txt' }),
      (r) => ({ ...r, bucket: 'bkt2' }),
      (r) => ({ ...r, query: new URLSearchParams('partNumber=2&uploadId=U1') }),
      (r) => ({ ...r, headers: { ...r.headers, 'content-type': 'text/html' } }),
      (r) => ({ ...r, headers: { ...r.headers, 'x-oss-meta-a': '2' } }),
      (r) => ({ ...r, headers: { ...r.headers, 'x-oss-meta-new': 'x' } }),
    ];
    for (const change of tamper) {
      const error = failure(change(sign(put)));
      expect(error.code).toBe('SignatureDoesNotMatch');
      expect(error.details['OSSAccessKeyId']).toBe('ak');
      expect(error.details['StringToSign']).toBeTruthy();
      expect(error.details['StringToSignBytes']).toMatch(/^[0-9A-F]{2}( [0-9A-F]{2})*$/);
    }
    expect(failure(sign(put, 'other-secret')).code).toBe('SignatureDoesNotMatch');
  });

  it('is InvalidAccessKeyId (with OSSAccessKeyId) for an unknown key or a bare STS. key', () => {
    const error = failure(sign(put, 'sk', 'nobody'));
    expect(error.code).toBe('InvalidAccessKeyId');
    expect(error.details).toEqual({ OSSAccessKeyId: 'nobody' });
    expect(failure(sign(put, 'sk', 'STS.abc')).code).toBe('InvalidAccessKeyId');
  });

  it('is RequestTimeTooSkewed beyond 15 minutes either way, with OSS details', () => {
    const request = sign(put);
    const at = (ms: number) => ({ ...deps, now: () => new Date(NOW.getTime() + ms) });
    expect(authenticate(request, at(DEFAULT_MAX_SKEW_MS))).toEqual(ROOT);
    expect(authenticate(request, at(-DEFAULT_MAX_SKEW_MS))).toEqual(ROOT);
    const error = failure(request, at(DEFAULT_MAX_SKEW_MS + 1000));
    expect(error.code).toBe('RequestTimeTooSkewed');
    expect(error.details['MaxAllowedSkewMilliseconds']).toBe('900000');
    expect(error.details['RequestTime']).toBe(request.headers['x-oss-date']);
    expect(failure(request, at(-DEFAULT_MAX_SKEW_MS - 1000)).code).toBe('RequestTimeTooSkewed');
  });

  it('authenticates temporary credentials as a temporary principal and refuses them once expired', () => {
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: 'ak',
      rootAccessKeySecret: 'sk',
      policy: { bucket: 'bkt', actions: ['PutObject'], expiresInSeconds: 300 },
      now: NOW,
    });
    const request = sign(
      { ...put, headers: { ...put.headers, 'x-oss-security-token': creds.SecurityToken } },
      creds.AccessKeySecret,
      creds.AccessKeyId,
    );
    expect(authenticate(request, deps)).toEqual({
      kind: 'temporary',
      accessKeyId: creds.AccessKeyId,
      policy: { bucket: 'bkt', actions: ['PutObject'] },
    });
    const later = { ...deps, now: () => new Date(NOW.getTime() + 301_000) };
    expect(failure(request, later).code).toBe('SecurityTokenExpired');
    const forged = sign(
      { ...put, headers: { ...put.headers, 'x-oss-security-token': creds.SecurityToken + 'x' } },
      creds.AccessKeySecret,
      creds.AccessKeyId,
    );
    expect(failure(forged).code).toBe('InvalidSecurityToken');
  });

  it('verify(sign(x)) for random keys, metadata headers and sub-resources', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.dictionary(
          fc.stringMatching(/^[a-z0-9]{1,8}$/).map((n) => `x-oss-meta-${n}`),
          fc.string({ unit: 'grapheme-ascii' }),
        ),
        fc.constantFrom(
          '',
          'acl',
          'uploads',
          'append&position=3',
          'uploadId=a%2Bb&partNumber=9',
          'prefix=a&max-keys=3',
        ),
        (key, meta, query) => {
          expect(authenticate(sign({ method: 'PUT', bucket: 'b', key, query, headers: meta }), deps)).toEqual(
            ROOT,
          );
        },
      ),
    );
  });
});

describe('authenticate: V1 header specifics', () => {
  it('uses the Date header when there is no x-oss-date, and fails without either', () => {
    const request = v1Request({ method: 'GET', bucket: 'b', key: 'k', headers: { date: GMT } });
    delete (request.headers as Record<string, string>)['x-oss-date'];
    // Re-sign with Date only.
    const sts = v1StringToSign({
      method: 'GET',
      headers: { date: GMT },
      date: GMT,
      canonicalizedResource: '/b/k',
    });
    request.headers.authorization = v1Authorization('ak', 'sk', sts);
    expect(authenticate(request, deps)).toEqual(ROOT);
    const noDate: AuthenticateRequest = {
      ...request,
      headers: { authorization: request.headers.authorization },
    };
    expect(failure(noDate).code).toBe('AccessDenied');
  });

  it('verifies a UTF-8 metadata header that Node delivers as latin1 text', () => {
    const request = v1Request({
      method: 'PUT',
      bucket: 'b',
      key: 'k',
      headers: { 'x-oss-meta-name': '中文' },
    });
    const latin1 = Buffer.from('中文', 'utf8').toString('latin1');
    expect(
      authenticate({ ...request, headers: { ...request.headers, 'x-oss-meta-name': latin1 } }, deps),
    ).toEqual(ROOT);
  });
});

describe('authenticate: V4 header specifics', () => {
  it('signs additional headers and refuses a changed one', () => {
    const request = v4Request(
      { method: 'GET', bucket: 'b', key: 'k', headers: { host: 'b.example' } },
      'sk',
      'ak',
      ['host'],
    );
    expect(authenticate(request, deps)).toEqual(ROOT);
    expect(failure({ ...request, headers: { ...request.headers, host: 'evil.example' } }).code).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('reports CanonicalRequest in SignatureDoesNotMatch details', () => {
    const error = failure(v4Request({ method: 'GET', bucket: 'b', key: 'k' }, 'bad'));
    expect(error.details['CanonicalRequest']).toBe(
      [
        'GET',
        '/b/k',
        '',
        `x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:${formatV4Timestamp(NOW)}\n`,
        '',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    );
  });

  it('refuses a missing x-oss-date and a scope date that is not the request date', () => {
    const request = v4Request({ method: 'GET', bucket: 'b', key: 'k' });
    const headers = { ...request.headers };
    delete headers['x-oss-date'];
    expect(failure({ ...request, headers }).code).toBe('AccessDenied');
    const wrongScope = String(request.headers.authorization).replace('/20261123/', '/20261122/');
    expect(failure({ ...request, headers: { ...request.headers, authorization: wrongScope } }).message).toBe(
      'Invalid signing date in Authorization header.',
    );
  });
});

describe('authenticate: V1 presigned URLs', () => {
  const url = (overrides: Partial<Parameters<typeof presignV1>[0]> = {}) =>
    new URLSearchParams(
      encodeQuery(
        presignV1({
          method: 'GET',
          bucket: 'b',
          key: 'k',
          credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
          expires: NOW.getTime() / 1000 + 60,
          subResources: { 'response-content-type': 'text/plain' },
          ...overrides,
        }),
      ),
    );
  const req = (
    query: URLSearchParams,
    method = 'GET',
    headers: IncomingHttpHeaders = {},
  ): AuthenticateRequest => ({
    method,
    rawPath: '/k',
    query,
    headers,
    bucket: 'b',
    key: 'k',
  });

  it('accepts a valid URL and refuses it after Expires with AccessDenied "Request has expired."', () => {
    expect(authenticate(req(url()), deps)).toEqual(ROOT);
    const error = failure(req(url()), { ...deps, now: () => new Date(NOW.getTime() + 61_000) });
    expect(error.code).toBe('AccessDenied');
    expect(error.message).toBe('Request has expired.');
    expect(error.details).toEqual({
      Expires: String(NOW.getTime() / 1000 + 60),
      ServerTime: '2026-11-23T10:01:01.000Z',
    });
  });

  it('refuses a changed method, sub-resource or Expires, and missing parameters', () => {
    expect(failure(req(url(), 'PUT')).code).toBe('SignatureDoesNotMatch');
    const changed = url();
    changed.set('response-content-type', 'text/html');
    expect(failure(req(changed)).code).toBe('SignatureDoesNotMatch');
    const later = url();
    later.set('Expires', String(NOW.getTime() / 1000 + 3600));
    expect(failure(req(later)).code).toBe('SignatureDoesNotMatch');
    const missing = url();
    missing.delete('Signature');
    expect(failure(req(missing)).code).toBe('AccessDenied');
    const bad = url();
    bad.set('Expires', 'soon');
    expect(failure(req(bad)).code).toBe('InvalidArgument');
  });

  it('accepts a security-token URL as the temporary principal', () => {
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: 'ak',
      rootAccessKeySecret: 'sk',
      policy: { bucket: 'b', actions: ['GetObject'], expiresInSeconds: 600 },
      now: NOW,
    });
    const query = url({
      credentials: {
        accessKeyId: creds.AccessKeyId,
        accessKeySecret: creds.AccessKeySecret,
        securityToken: creds.SecurityToken,
      },
    });
    expect(authenticate(req(query), deps)).toMatchObject({
      kind: 'temporary',
      accessKeyId: creds.AccessKeyId,
    });
  });
});

describe('authenticate: V4 presigned URLs', () => {
  const url = (overrides: Partial<Parameters<typeof presignV4>[0]> = {}) =>
    new URLSearchParams(
      encodeQuery(
        presignV4({
          method: 'GET',
          bucket: 'b',
          key: 'k',
          credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
          region: 'cn-hangzhou',
          now: NOW,
          expiresInSeconds: 60,
          ...overrides,
        }),
      ),
    );
  const req = (query: URLSearchParams, method = 'GET'): AuthenticateRequest => ({
    method,
    rawPath: '/k',
    query,
    headers: {},
    bucket: 'b',
    key: 'k',
  });

  it('accepts a valid URL and refuses it once x-oss-date + x-oss-expires has passed', () => {
    expect(authenticate(req(url()), deps)).toEqual(ROOT);
    const error = failure(req(url()), { ...deps, now: () => new Date(NOW.getTime() + 61_000) });
    expect(error.code).toBe('AccessDenied');
    expect(error.message).toBe('Request has expired.');
  });

  it('refuses tampering, a wrong secret and malformed parameters', () => {
    expect(failure(req(url(), 'DELETE')).code).toBe('SignatureDoesNotMatch');
    const longer = url();
    longer.set('x-oss-expires', '3600');
    expect(failure(req(longer)).code).toBe('SignatureDoesNotMatch');
    const extra = url();
    extra.set('acl', '');
    expect(failure(req(extra)).code).toBe('SignatureDoesNotMatch');
    expect(failure(req(url({ credentials: { accessKeyId: 'ak', accessKeySecret: 'no' } }))).code).toBe(
      'SignatureDoesNotMatch',
    );
    for (const name of ['x-oss-signature-version', 'x-oss-credential', 'x-oss-signature', 'x-oss-date']) {
      const q = url();
      q.delete(name);
      expect(failure(req(q)).code, name).toBe('InvalidArgument');
    }
    expect(failure(req(url({ expiresInSeconds: 8 * 24 * 3600 }))).code).toBe('InvalidArgument');
    expect(failure(req(url({ credentials: { accessKeyId: 'who', accessKeySecret: 'sk' } }))).code).toBe(
      'InvalidAccessKeyId',
    );
  });
});

describe('authorizeAction', () => {
  it('lets root and anonymous through and enforces a temporary policy', () => {
    expect(() =>
      authorizeAction({ kind: 'root', accessKeyId: 'ak' }, { action: 'DeleteObject', bucket: 'x' }),
    ).not.toThrow();
    expect(() =>
      authorizeAction({ kind: 'anonymous' }, { action: 'DeleteObject', bucket: 'x' }),
    ).not.toThrow();
    const temporary = {
      kind: 'temporary' as const,
      accessKeyId: 'STS.x',
      policy: { bucket: 'b', actions: ['PutObject'], callbackUrl: 'http://app/cb' },
    };
    expect(() =>
      authorizeAction(temporary, {
        action: 'PutObject',
        bucket: 'b',
        key: 'k',
        callbackUrls: ['http://app/cb'],
      }),
    ).not.toThrow();
    expect(() => authorizeAction(temporary, { action: 'PutObject', bucket: 'b', key: 'k' })).toThrow(
      'Access denied by the security token policy: an upload callback to http://app/cb is required.',
    );
    expect(() =>
      authorizeAction({ ...temporary, policy: 'junk' }, { action: 'GetObject', bucket: 'b' }),
    ).toThrow('Access denied by the security token policy.');
  });
});

describe('authenticate: conflicting or odd input', () => {
  it('refuses a signature in both the URL and the Authorization header', () => {
    const request = v1Request({ method: 'GET', bucket: 'b', key: 'k' });
    const both = { ...request, query: new URLSearchParams('OSSAccessKeyId=ak&Expires=1&Signature=x') };
    expect(failure(both).code).toBe('InvalidArgument');
  });

  it('refuses V4 additional headers the request does not carry', () => {
    const request = v4Request(
      { method: 'GET', bucket: 'b', key: 'k', headers: { range: 'bytes=0-1' } },
      'sk',
      'ak',
      ['range'],
    );
    expect(authenticate(request, deps)).toEqual(ROOT);
    const headers = { ...request.headers };
    delete headers.range;
    const error = failure({ ...request, headers });
    expect(error.code).toBe('InvalidArgument');
    expect(error.details['ArgumentValue']).toBe('range');
  });

  it('answers any garbage with a principal or an OssError, never another exception', () => {
    const names = fc.constantFrom(
      'OSSAccessKeyId',
      'Expires',
      'Signature',
      'security-token',
      'x-oss-signature-version',
      'x-oss-credential',
      'x-oss-date',
      'x-oss-expires',
      'x-oss-signature',
      'x-oss-security-token',
      'x-oss-additional-headers',
      'uploads',
    );
    const authorization = fc.oneof(
      fc.string(),
      fc.string().map((s) => `OSS ${s}`),
      fc.string().map((s) => `OSS4-HMAC-SHA256 ${s}`),
      fc
        .string()
        .map((s) => `OSS4-HMAC-SHA256 Credential=ak/20261123/r/oss/aliyun_v4_request,Signature=${s}`),
    );
    fc.assert(
      fc.property(
        fc.option(authorization, { nil: undefined }),
        fc.array(fc.tuple(names, fc.string()), { maxLength: 6 }),
        fc.dictionary(
          fc.constantFrom('x-oss-date', 'date', 'x-oss-security-token', 'content-type'),
          fc.string(),
        ),
        (auth, pairs, headers) => {
          const request: AuthenticateRequest = {
            method: 'GET',
            rawPath: '/k',
            query: new URLSearchParams(pairs),
            headers: auth === undefined ? headers : { ...headers, authorization: auth },
            bucket: 'b',
            key: 'k',
          };
          try {
            authenticate(request, deps);
          } catch (error) {
            expect(isOssError(error), String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
