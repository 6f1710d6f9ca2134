import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isOssError } from './oss-error.ts';
import {
  checkTemporaryPolicy,
  deriveTemporarySecret,
  isTemporaryPolicy,
  mintTemporaryCredentials,
  verifySecurityToken,
  type TemporaryPolicy,
} from './security-token.ts';

const NOW = new Date('2026-11-23T10:00:00.500Z');
const roots = (id: string) => (id === 'LTAIroot' ? 'root-secret' : undefined);

function mint(policy: Partial<TemporaryPolicy> & { expiresInSeconds?: number } = {}) {
  return mintTemporaryCredentials({
    rootAccessKeyId: 'LTAIroot',
    rootAccessKeySecret: 'root-secret',
    policy: { bucket: 'photos', actions: ['PutObject', 'GetObject'], expiresInSeconds: 900, ...policy },
    now: NOW,
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : `not an OssError: ${String(error)}`;
  }
}

describe('mintTemporaryCredentials', () => {
  it('returns the §10.1 shape: STS. key id, derived secret, token, Expiration without ms', () => {
    const creds = mint({ prefix: 'u/42/' });
    expect(creds.AccessKeyId).toMatch(/^STS\.[A-Za-z0-9_-]{22}$/);
    expect(creds.AccessKeySecret).toBe(deriveTemporarySecret('root-secret', creds.AccessKeyId));
    expect(creds.Expiration).toBe('2026-11-23T10:15:00Z');
    expect(creds.SecurityToken).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it('gives distinct key ids each time and uses the injected randomness', () => {
    expect(mint().AccessKeyId).not.toBe(mint().AccessKeyId);
    const fixed = mintTemporaryCredentials({
      rootAccessKeyId: 'LTAIroot',
      rootAccessKeySecret: 'root-secret',
      policy: { bucket: 'b', actions: [], expiresInSeconds: 1 },
      now: NOW,
      random: () => Buffer.alloc(16, 1),
    });
    expect(fixed.AccessKeyId).toBe(`STS.${Buffer.alloc(16, 1).toString('base64url')}`);
  });

  it('refuses a non-positive lifetime', () => {
    expect(() => mint({ expiresInSeconds: 0 })).toThrow(RangeError);
    expect(() => mint({ expiresInSeconds: 1.5 })).toThrow(RangeError);
  });
});

describe('verifySecurityToken', () => {
  it('round-trips: the policy, root key and derived secret come back', () => {
    const creds = mint({ prefix: 'u/', callbackUrl: 'http://app/cb' });
    const verified = verifySecurityToken(creds.SecurityToken, creds.AccessKeyId, roots, NOW);
    expect(verified.accessKeySecret).toBe(creds.AccessKeySecret);
    expect(verified.rootAccessKeyId).toBe('LTAIroot');
    expect(verified.policy).toEqual({
      bucket: 'photos',
      actions: ['PutObject', 'GetObject'],
      prefix: 'u/',
      callbackUrl: 'http://app/cb',
    });
    expect(verified.expiration.toISOString()).toBe('2026-11-23T10:15:00.000Z');
  });

  it('is SecurityTokenExpired at and after Expiration, valid just before', () => {
    const creds = mint({ expiresInSeconds: 60 });
    const at = (iso: string) => () =>
      verifySecurityToken(creds.SecurityToken, creds.AccessKeyId, roots, new Date(iso));
    expect(codeOf(at('2026-11-23T10:00:59.999Z'))).toBeUndefined();
    expect(codeOf(at('2026-11-23T10:01:00.000Z'))).toBe('SecurityTokenExpired');
    expect(at('2026-11-23T11:00:00Z')).toThrow(
      expect.objectContaining({
        code: 'SecurityTokenExpired',
        details: { Expiration: '2026-11-23T10:01:00.000Z', ServerTime: '2026-11-23T11:00:00.000Z' },
      }),
    );
  });

  it('is InvalidSecurityToken for garbage, an unknown root key, or any tampered character', () => {
    const creds = mint();
    const verify = (token: string) => () => verifySecurityToken(token, creds.AccessKeyId, roots, NOW);
    for (const bad of [
      '',
      'abc',
      '.',
      'abc.def',
      `${creds.SecurityToken}x`,
      creds.SecurityToken.split('.')[0]!,
    ]) {
      expect(codeOf(verify(bad)), bad).toBe('InvalidSecurityToken');
    }
    expect(
      codeOf(() => verifySecurityToken(creds.SecurityToken, creds.AccessKeyId, () => undefined, NOW)),
    ).toBe('InvalidSecurityToken');
    expect(
      codeOf(() => verifySecurityToken(creds.SecurityToken, creds.AccessKeyId, () => 'other', NOW)),
    ).toBe('InvalidSecurityToken');
    fc.assert(
      fc.property(
        fc.nat({ max: creds.SecurityToken.length - 1 }),
        fc.constantFrom('A', 'b', '_', '-', '0'),
        (i, c) => {
          const token = creds.SecurityToken;
          fc.pre(token[i] !== c);
          const tampered = token.slice(0, i) + c + token.slice(i + 1);
          expect(codeOf(verify(tampered))).not.toBeUndefined();
        },
      ),
    );
  });

  it('refuses a policy widened by re-encoding the payload without the root secret', () => {
    const creds = mint({ prefix: 'u/' });
    const [body, sig] = creds.SecurityToken.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    payload.p.prefix = '';
    payload.exp += 86_400;
    const widened = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
    expect(codeOf(() => verifySecurityToken(widened, creds.AccessKeyId, roots, NOW))).toBe(
      'InvalidSecurityToken',
    );
  });

  it('is InvalidAccessKeyId when a valid token comes with another access key id', () => {
    const a = mint();
    const b = mint();
    expect(codeOf(() => verifySecurityToken(a.SecurityToken, b.AccessKeyId, roots, NOW))).toBe(
      'InvalidAccessKeyId',
    );
  });
});

describe('checkTemporaryPolicy', () => {
  const policy: TemporaryPolicy = {
    bucket: 'photos',
    prefix: 'u/42/',
    actions: ['PutObject', 'GetObject', 'UploadPart'],
    callbackUrl: 'http://app.internal/oss-callback',
  };
  const message = (fn: () => void) => {
    try {
      fn();
      return undefined;
    } catch (error) {
      return isOssError(error) && error.code === 'AccessDenied' ? error.message : String(error);
    }
  };

  it('allows an action inside bucket, prefix and callback requirement', () => {
    expect(
      message(() =>
        checkTemporaryPolicy(policy, {
          action: 'PutObject',
          bucket: 'photos',
          key: 'u/42/a.jpg',
          callbackUrls: ['http://app.internal/oss-callback?x=1'],
        }),
      ),
    ).toBeUndefined();
    expect(
      message(() =>
        checkTemporaryPolicy(policy, { action: 'GetObject', bucket: 'photos', key: 'u/42/a.jpg' }),
      ),
    ).toBeUndefined();
    expect(
      message(() => checkTemporaryPolicy(policy, { action: 'UploadPart', bucket: 'photos', key: 'u/42/b' })),
    ).toBeUndefined();
  });

  it('denies each violation with a message saying why', () => {
    expect(
      message(() =>
        checkTemporaryPolicy(policy, { action: 'DeleteObject', bucket: 'photos', key: 'u/42/a' }),
      ),
    ).toBe('Access denied by the security token policy: the action DeleteObject is not allowed.');
    expect(
      message(() => checkTemporaryPolicy(policy, { action: 'GetObject', bucket: 'other', key: 'u/42/a' })),
    ).toBe('Access denied by the security token policy: the bucket other is not allowed.');
    expect(
      message(() => checkTemporaryPolicy(policy, { action: 'GetObject', bucket: 'photos', key: 'u/43/a' })),
    ).toBe('Access denied by the security token policy: only keys starting with "u/42/" are allowed.');
    const required =
      'Access denied by the security token policy: an upload callback to http://app.internal/oss-callback is required.';
    expect(
      message(() => checkTemporaryPolicy(policy, { action: 'PutObject', bucket: 'photos', key: 'u/42/a' })),
    ).toBe(required);
    expect(
      message(() =>
        checkTemporaryPolicy(policy, {
          action: 'PutObject',
          bucket: 'photos',
          key: 'u/42/a',
          callbackUrls: ['http://app.internal/oss-callback', 'http://evil.example/cb'],
        }),
      ),
    ).toBe(required);
  });

  it('scopes listings by their prefix parameter', () => {
    const lister: TemporaryPolicy = { bucket: 'b', prefix: 'u/1/', actions: ['ListObjects'] };
    expect(
      message(() =>
        checkTemporaryPolicy(lister, { action: 'ListObjects', bucket: 'b', listPrefix: 'u/1/x' }),
      ),
    ).toBeUndefined();
    expect(
      message(() => checkTemporaryPolicy(lister, { action: 'ListObjects', bucket: 'b', listPrefix: 'u/' })),
    ).toBe('Access denied by the security token policy: only keys starting with "u/1/" are allowed.');
    expect(message(() => checkTemporaryPolicy(lister, { action: 'ListObjects', bucket: 'b' }))).toBeDefined();
  });

  it('without a prefix allows the whole bucket', () => {
    expect(
      message(() =>
        checkTemporaryPolicy(
          { bucket: 'b', actions: ['GetObject'] },
          { action: 'GetObject', bucket: 'b', key: 'x' },
        ),
      ),
    ).toBeUndefined();
  });
});

describe('isTemporaryPolicy', () => {
  it('accepts minted policies and rejects other shapes', () => {
    expect(isTemporaryPolicy({ bucket: 'b', actions: ['GetObject'] })).toBe(true);
    expect(isTemporaryPolicy({ bucket: 'b', actions: ['Nuke'] })).toBe(false);
    expect(isTemporaryPolicy({ bucket: 1, actions: [] })).toBe(false);
    expect(isTemporaryPolicy({ bucket: 'b', actions: [], prefix: 3 })).toBe(false);
    expect(isTemporaryPolicy(null)).toBe(false);
  });
});
