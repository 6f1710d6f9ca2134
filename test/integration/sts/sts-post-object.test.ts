/**
 * PostObject forms signed with temporary credentials (STS-style, src/shared/security-token.ts):
 * the form carries the temporary OSSAccessKeyId, the Signature made with the temporary secret
 * (by ali-oss's own calculatePostSignature) and `x-oss-security-token`. The token's policy
 * (bucket, key prefix, actions, required callback URL) and expiry are enforced; nothing is stored
 * when any of them refuses the form.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mintTemporaryCredentials,
  type TemporaryAction,
  type TemporaryCredentials,
} from '../../../src/client/temporary-credentials.ts';
import { buildPostPolicyBundle, postObjectFormFields } from '../../../src/client/post-policy.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import {
  ACCESS_KEY_ID,
  ACCESS_KEY_SECRET,
  createMultipartTestBed,
  type MultipartTestBed,
} from '../../helpers/multipart-test-bed.ts';

interface PostSigner {
  calculatePostSignature(policy: object): { OSSAccessKeyId: string; Signature: string; policy: string };
}
const OSS = createRequire(import.meta.url)('ali-oss') as new (options: Record<string, unknown>) => PostSigner;

let bed: MultipartTestBed;
let sink: CallbackSink;

beforeAll(async () => {
  bed = await createMultipartTestBed('sts-post', 'private');
  sink = await startCallbackSink();
});

afterAll(async () => {
  await bed.close();
  await sink.close();
});

function mint(
  overrides: { prefix?: string; actions?: TemporaryAction[]; callbackUrl?: string; now?: Date } = {},
): TemporaryCredentials {
  return mintTemporaryCredentials({
    rootAccessKeyId: ACCESS_KEY_ID,
    rootAccessKeySecret: ACCESS_KEY_SECRET,
    policy: {
      bucket: 'sts-post',
      prefix: overrides.prefix ?? 'user-42/',
      actions: overrides.actions ?? ['PostObject'],
      ...(overrides.callbackUrl !== undefined && { callbackUrl: overrides.callbackUrl }),
      expiresInSeconds: 900,
    },
    now: overrides.now ?? new Date(),
  });
}

/** The form fields a browser gets from its app server (SPEC.md §10.2) for these credentials. */
function signedFields(credentials: TemporaryCredentials): Record<string, string> {
  const signer = new OSS({
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
    bucket: 'sts-post',
    region: 'oss-cn-hangzhou',
  });
  const signed = signer.calculatePostSignature({
    expiration: new Date(Date.now() + 3600_000).toISOString(),
    conditions: [['content-length-range', 0, 1024 * 1024]],
  });
  return {
    policy: signed.policy,
    OSSAccessKeyId: signed.OSSAccessKeyId,
    Signature: signed.Signature,
    'x-oss-security-token': credentials.SecurityToken,
  };
}

async function post(fields: Record<string, string>) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob(['sts body']), 'a.txt');
  const response = await fetch(`${bed.server.url}/${bed.bucket}/`, { method: 'POST', body: form });
  const body = await response.text();
  return {
    status: response.status,
    body,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1]?.replaceAll('&quot;', '"'),
  };
}

async function keys(): Promise<string[]> {
  return (await bed.store.listObjects(bed.bucket, { maxKeys: 1000 })).objects.map((o) => o.key);
}

describe('PostObject with temporary credentials', () => {
  it('stores a form signed with a temporary key inside its prefix', async () => {
    const result = await post({ key: 'user-42/ok.txt', ...signedFields(mint()) });
    expect(result.status).toBe(204);
    expect(await keys()).toContain('user-42/ok.txt');
  });

  it('stores a form whose token requires a callback when the form carries one to that URL', async () => {
    const callbackUrl = `${sink.url}/oss-callback`;
    const callback = Buffer.from(
      JSON.stringify({ callbackUrl, callbackBody: 'object=${object}&v=${x:v}' }),
    ).toString('base64');
    const result = await post({
      key: 'user-42/with-callback.txt',
      ...signedFields(mint({ callbackUrl })),
      callback,
      'x:v': 'one',
    });
    expect(result.status).toBe(200);
    expect(await keys()).toContain('user-42/with-callback.txt');
    expect(sink.received.at(-1)?.body.toString()).toBe('object=user-42%2Fwith-callback.txt&v=one');
  });

  it.each([1, 4] as const)(
    'stores a form built from a V%i bundle of src/client/post-policy.ts with temporary credentials',
    async (signatureVersion) => {
      const credentials = mint();
      const bundle = buildPostPolicyBundle({
        credentials: {
          accessKeyId: credentials.AccessKeyId,
          accessKeySecret: credentials.AccessKeySecret,
          securityToken: credentials.SecurityToken,
        },
        host: bed.server.url,
        bucket: 'sts-post',
        dir: 'user-42/',
        expiresInSeconds: 300,
        maxSize: 1024,
        now: new Date(),
        signatureVersion,
      });
      const key = `user-42/bundle-v${signatureVersion}.txt`;
      const result = await post(Object.fromEntries(postObjectFormFields(bundle, key)));
      expect(result.status).toBe(200);
      expect(await keys()).toContain(key);
      // The bundle's policy pins the directory: the same fields cannot write elsewhere.
      const elsewhere = await post(Object.fromEntries(postObjectFormFields(bundle, 'user-99/x.txt')));
      expect(elsewhere.code).toBe('AccessDenied');
    },
  );

  const refusals: {
    name: string;
    fields: () => Record<string, string>;
    status: number;
    code: string;
    message?: RegExp;
  }[] = [
    {
      name: 'key outside the token prefix',
      fields: () => ({ key: 'user-43/no.txt', ...signedFields(mint()) }),
      status: 403,
      code: 'AccessDenied',
      message: /only keys starting with "user-42\/"/,
    },
    {
      name: 'token without the PostObject action',
      fields: () => ({ key: 'user-42/no.txt', ...signedFields(mint({ actions: ['PutObject'] })) }),
      status: 403,
      code: 'AccessDenied',
      message: /the action PostObject is not allowed/,
    },
    {
      name: 'token requiring a callback, form without one',
      fields: () => ({
        key: 'user-42/no.txt',
        ...signedFields(mint({ callbackUrl: 'http://app.internal/cb' })),
      }),
      status: 403,
      code: 'AccessDenied',
      message: /an upload callback to http:\/\/app.internal\/cb is required/,
    },
    {
      name: 'expired token',
      fields: () => ({
        key: 'user-42/no.txt',
        ...signedFields(mint({ now: new Date(Date.now() - 3600_000) })),
      }),
      status: 403,
      code: 'SecurityTokenExpired',
    },
    {
      name: 'tampered token',
      fields: () => {
        const fields = signedFields(mint());
        const token = fields['x-oss-security-token'] ?? '';
        return { key: 'user-42/no.txt', ...fields, 'x-oss-security-token': `x${token.slice(1)}` };
      },
      status: 403,
      code: 'InvalidSecurityToken',
    },
    {
      name: 'token of another temporary key',
      fields: () => ({
        key: 'user-42/no.txt',
        ...signedFields(mint()),
        'x-oss-security-token': mint().SecurityToken,
      }),
      status: 403,
      code: 'InvalidAccessKeyId',
    },
    {
      name: 'temporary key without its token',
      fields: () => {
        const { 'x-oss-security-token': _token, ...rest } = signedFields(mint());
        return { key: 'user-42/no.txt', ...rest };
      },
      status: 403,
      code: 'InvalidAccessKeyId',
    },
  ];

  it.each(refusals)('$name → $code', async (row) => {
    const before = await keys();
    const result = await post(row.fields());
    expect({ status: result.status, code: result.code }).toEqual({ status: row.status, code: row.code });
    if (row.message !== undefined) expect(result.message).toMatch(row.message);
    expect(await keys()).toEqual(before);
  });
});
