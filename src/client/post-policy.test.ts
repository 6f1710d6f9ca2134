import { describe, expect, it } from 'vitest';
import { signPostPolicyV1, signPostPolicyV4 } from '../shared/post-policy.ts';
import { buildCallbackParams } from './callback-params.ts';
import { buildPostPolicyBundle, postObjectFormFields } from './post-policy.ts';
import {
  mintTemporaryCredentials,
  temporaryCredentialsError,
  temporaryCredentialsReply,
} from './temporary-credentials.ts';

const NOW = new Date('2026-11-23T10:00:00.400Z');
const base = {
  credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
  host: 'http://photos.localhost:9000',
  bucket: 'photos',
  dir: 'user-dirs/',
  expiresInSeconds: 300,
  now: NOW,
};

function policyOf(policy: string): { expiration: string; conditions: unknown[] } {
  return JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as {
    expiration: string;
    conditions: unknown[];
  };
}

describe('buildPostPolicyBundle', () => {
  it('V1: the §10.2 JSON with a policy holding bucket, dir and size, signed with HMAC-SHA1', () => {
    const callback = buildCallbackParams({
      url: 'http://app/cb',
      body: 'object=${object}',
      vars: { uid: 7 },
    });
    const bundle = buildPostPolicyBundle({ ...base, maxSize: 1000, callback });
    expect(bundle).toMatchObject({
      accessid: 'ak',
      host: 'http://photos.localhost:9000',
      expire: 1795428300,
      dir: 'user-dirs/',
      callback: callback.callback,
      callbackVars: { 'x:uid': '7' },
    });
    expect(bundle.signature).toBe(signPostPolicyV1('sk', bundle.policy));
    expect(policyOf(bundle.policy)).toEqual({
      expiration: '2026-11-23T10:05:00.000Z',
      conditions: [
        { bucket: 'photos' },
        ['starts-with', '$key', 'user-dirs/'],
        ['content-length-range', 0, 1000],
      ],
    });
  });

  it('V4: credential, date and version fields, also bound in the policy, signed with the V4 key', () => {
    const bundle = buildPostPolicyBundle({ ...base, signatureVersion: 4, region: 'cn-beijing', dir: '' });
    expect(bundle).toMatchObject({
      x_oss_signature_version: 'OSS4-HMAC-SHA256',
      x_oss_credential: 'ak/20261123/cn-beijing/oss/aliyun_v4_request',
      x_oss_date: '20261123T100000Z',
    });
    expect(bundle.signature).toBe(
      signPostPolicyV4('sk', { date: '20261123', region: 'cn-beijing', product: 'oss' }, bundle.policy),
    );
    expect(policyOf(bundle.policy).conditions).toEqual([
      { bucket: 'photos' },
      { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
      { 'x-oss-credential': 'ak/20261123/cn-beijing/oss/aliyun_v4_request' },
      { 'x-oss-date': '20261123T100000Z' },
    ]);
  });

  it('binds the security token and, with lockCallback, the callback into the policy', () => {
    const callback = buildCallbackParams({ url: 'http://app/cb', body: 'a=b' });
    const bundle = buildPostPolicyBundle({
      ...base,
      credentials: { ...base.credentials, securityToken: 'tok' },
      callback,
      lockCallback: true,
      conditions: [['in', '$content-type', ['image/png']]],
    });
    expect(bundle.security_token).toBe('tok');
    expect(policyOf(bundle.policy).conditions).toEqual([
      { bucket: 'photos' },
      ['starts-with', '$key', 'user-dirs/'],
      ['eq', '$callback', callback.callback],
      ['in', '$content-type', ['image/png']],
      { 'x-oss-security-token': 'tok' },
    ]);
  });
});

describe('postObjectFormFields', () => {
  it('V1: the official sample order, file last (added by the caller)', () => {
    const callback = buildCallbackParams({ url: 'http://app/cb', body: 'a=b', vars: { uid: '1' } });
    const bundle = buildPostPolicyBundle({
      ...base,
      callback,
      credentials: { ...base.credentials, securityToken: 't' },
    });
    expect(postObjectFormFields(bundle, 'user-dirs/a.jpg').map(([k]) => k)).toEqual([
      'key',
      'policy',
      'OSSAccessKeyId',
      'success_action_status',
      'callback',
      'x:uid',
      'x-oss-security-token',
      'signature',
    ]);
  });

  it('V4: the x-oss-* fields and x-oss-signature', () => {
    const bundle = buildPostPolicyBundle({ ...base, signatureVersion: 4 });
    const fields = new Map(postObjectFormFields(bundle, 'k', { successActionStatus: '201' }));
    expect([...fields.keys()]).toEqual([
      'key',
      'policy',
      'x-oss-signature-version',
      'x-oss-credential',
      'x-oss-date',
      'success_action_status',
      'x-oss-signature',
    ]);
    expect(fields.get('success_action_status')).toBe('201');
    expect(fields.get('x-oss-signature')).toBe(bundle.signature);
  });
});

describe('temporary credentials replies (§10.1)', () => {
  it('shapes the mobile AppServer success and error JSON', () => {
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: 'ak',
      rootAccessKeySecret: 'sk',
      policy: { bucket: 'photos', actions: ['PutObject'], expiresInSeconds: 60 },
      now: NOW,
    });
    const reply = temporaryCredentialsReply(creds);
    expect(Object.keys(reply)).toEqual([
      'StatusCode',
      'AccessKeyId',
      'AccessKeySecret',
      'SecurityToken',
      'Expiration',
    ]);
    expect(reply).toMatchObject({ StatusCode: 200, Expiration: '2026-11-23T10:01:00Z' });
    expect(
      temporaryCredentialsError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.'),
    ).toEqual({
      StatusCode: 500,
      ErrorCode: 'InvalidAccessKeyId.NotFound',
      ErrorMessage: 'Specified access key is not found.',
    });
  });
});
