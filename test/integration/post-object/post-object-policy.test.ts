/**
 * Signed PostObject forms (V1: OSSAccessKeyId + policy + Signature; V4: x-oss-signature-version,
 * x-oss-credential, x-oss-date, x-oss-signature), signed by ali-oss's own calculatePostSignature /
 * signPostObjectPolicyV4 as the oracle, posted as raw multipart/form-data to a private bucket:
 * every policy condition form holds and each violation gets the OSS error, with nothing stored.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatV4Timestamp } from '../../../src/shared/signature-v4.ts';
import {
  ACCESS_KEY_ID,
  ACCESS_KEY_SECRET,
  createMultipartTestBed,
  type MultipartTestBed,
} from '../../helpers/multipart-test-bed.ts';

interface PostSigner {
  calculatePostSignature(policy: object | string): {
    OSSAccessKeyId: string;
    Signature: string;
    policy: string;
  };
  signPostObjectPolicyV4(policy: object | string, date: Date): string;
}

let bed: MultipartTestBed;
let signer: PostSigner;

beforeAll(async () => {
  bed = await createMultipartTestBed('post-signed', 'private');
  signer = bed.client() as unknown as PostSigner;
});

afterAll(async () => {
  await bed.close();
});

const HOUR = 3600_000;
const future = (): string => new Date(Date.now() + HOUR).toISOString();

function v1Fields(policy: object | string): Record<string, string> {
  const signed = signer.calculatePostSignature(policy);
  return { policy: signed.policy, OSSAccessKeyId: signed.OSSAccessKeyId, Signature: signed.Signature };
}

function v4Fields(policy: object): Record<string, string> {
  const now = new Date();
  const date = formatV4Timestamp(now);
  const base64 = Buffer.from(JSON.stringify(policy)).toString('base64');
  return {
    policy: base64,
    'x-oss-signature-version': 'OSS4-HMAC-SHA256',
    'x-oss-credential': `${ACCESS_KEY_ID}/${date.slice(0, 8)}/cn-hangzhou/oss/aliyun_v4_request`,
    'x-oss-date': date,
    'x-oss-signature': signer.signPostObjectPolicyV4(policy, now),
  };
}

async function post(fields: Record<string, string>, file: string | Buffer = 'hello') {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([typeof file === 'string' ? file : new Uint8Array(file)]), 'f.bin');
  const response = await fetch(`${bed.server.url}/${bed.bucket}/`, { method: 'POST', body: form });
  const body = await response.text();
  return {
    status: response.status,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/
      .exec(body)?.[1]
      ?.replaceAll('&quot;', '"')
      .replaceAll('&amp;', '&'),
  };
}

async function keys(): Promise<string[]> {
  return (await bed.store.listObjects(bed.bucket, { maxKeys: 1000 })).objects.map((o) => o.key);
}

async function stored(key: string): Promise<boolean> {
  return (await keys()).includes(key);
}

describe('signed PostObject, every policy condition form holding', () => {
  const conditions = (key: string): unknown[] => [
    { bucket: 'post-signed' },
    { key },
    ['eq', '$key', key],
    ['starts-with', '$key', 'user/'],
    ['content-length-range', 1, 100],
    ['eq', '$Content-Type', 'image/png'],
    ['starts-with', '$content-type', 'image/'],
    ['in', '$content-type', ['image/png', 'image/jpeg']],
    ['not-in', '$cache-control', ['no-cache']],
    ['eq', '$x-oss-meta-color', 'blue'],
    ['eq', '$success_action_status', '201'],
    ['starts-with', '$x:var', ''],
  ];
  const formFields = (key: string): Record<string, string> => ({
    key,
    'Content-Type': 'image/png',
    'Cache-Control': 'max-age=1',
    'x-oss-meta-color': 'blue',
    success_action_status: '201',
    'x:var': 'anything',
  });

  it('V1 (OSSAccessKeyId, policy, Signature)', async () => {
    const key = 'user/v1.png';
    const result = await post({
      key,
      ...v1Fields({ expiration: future(), conditions: conditions(key) }),
      ...formFields(key),
    });
    expect(result).toMatchObject({ status: 201 });
    expect((await bed.store.headObject(bed.bucket, key)).meta).toMatchObject({
      contentType: 'image/png',
      cacheControl: 'max-age=1',
      userMeta: { color: 'blue' },
    });
  });

  it('V4 (x-oss-signature-version, x-oss-credential, x-oss-date, x-oss-signature)', async () => {
    const key = 'user/v4.png';
    const result = await post({
      key,
      ...v4Fields({ expiration: future(), conditions: conditions(key) }),
      ...formFields(key),
    });
    expect(result).toMatchObject({ status: 201 });
    expect(await stored(key)).toBe(true);
  });

  it('checks $key against the key as sent, before ${filename} is substituted', async () => {
    const key = 'user/${filename}';
    const result = await post({
      key,
      ...v1Fields({ expiration: future(), conditions: [['eq', '$key', key]] }),
    });
    expect(result.status).toBe(204);
    expect(await stored('user/f.bin')).toBe(true);
  });
});

describe('signed PostObject refusals (nothing stored)', () => {
  const key = 'refused/object.txt';
  const policyWith = (...conditions: unknown[]) => ({ expiration: future(), conditions });
  const failed = (condition: string) => `Invalid according to Policy: Policy Condition failed: ${condition}`;

  const rows: {
    name: string;
    fields: () => Record<string, string>;
    file?: string | Buffer;
    status: number;
    code: string;
    message?: string;
  }[] = [
    {
      name: 'expired policy',
      fields: () => v1Fields({ expiration: new Date(Date.now() - 1000).toISOString(), conditions: [] }),
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    },
    {
      name: '{"bucket"} naming another bucket',
      fields: () => v1Fields(policyWith({ bucket: 'other-bucket' })),
      status: 403,
      code: 'AccessDenied',
      message: failed('{"bucket":"other-bucket"}'),
    },
    {
      name: '{"key"} exact match failing',
      fields: () => v1Fields(policyWith({ key: 'refused/other.txt' })),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'eq $key failing',
      fields: () => v1Fields(policyWith(['eq', '$key', 'refused/other.txt'])),
      status: 403,
      code: 'AccessDenied',
      message: failed('["eq", "$key", "refused/other.txt"]'),
    },
    {
      name: 'starts-with $key failing',
      fields: () => v1Fields(policyWith(['starts-with', '$key', 'user/'])),
      status: 403,
      code: 'AccessDenied',
      message: failed('["starts-with", "$key", "user/"]'),
    },
    {
      name: 'eq $content-type failing (field missing)',
      fields: () => v1Fields(policyWith(['eq', '$content-type', 'image/png'])),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'in $content-type failing',
      fields: () => ({
        'Content-Type': 'text/html',
        ...v1Fields(policyWith(['in', '$content-type', ['image/png']])),
      }),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'not-in $cache-control failing',
      fields: () => ({
        'Cache-Control': 'no-cache',
        ...v1Fields(policyWith(['not-in', '$cache-control', ['no-cache']])),
      }),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'eq $x-oss-meta-* failing',
      fields: () => ({
        'x-oss-meta-color': 'red',
        ...v1Fields(policyWith(['eq', '$x-oss-meta-color', 'blue'])),
      }),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'eq $success_action_status failing',
      fields: () => v1Fields(policyWith(['eq', '$success_action_status', '200'])),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'file over content-length-range',
      fields: () => v1Fields(policyWith(['content-length-range', 1, 10])),
      file: Buffer.alloc(256 * 1024, 1),
      status: 400,
      code: 'EntityTooLarge',
    },
    {
      name: 'file under content-length-range',
      fields: () => v1Fields(policyWith(['content-length-range', 10, 100])),
      file: 'tiny',
      status: 400,
      code: 'EntityTooSmall',
    },
    {
      name: 'policy that is not base64',
      fields: () => ({ ...v1Fields(policyWith()), policy: '%%%' }),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'policy that is not JSON',
      fields: () => {
        // ali-oss refuses to sign such a policy; sign it as OSS would verify it (V1: HMAC-SHA1).
        const policy = Buffer.from('not json').toString('base64');
        const signature = createHmac('sha1', ACCESS_KEY_SECRET).update(policy).digest('base64');
        return { policy, OSSAccessKeyId: ACCESS_KEY_ID, Signature: signature };
      },
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'policy without expiration',
      fields: () => v1Fields({ conditions: [] }),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'policy without conditions',
      fields: () => v1Fields({ expiration: future() }),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'policy with an unknown operator',
      fields: () => v1Fields(policyWith(['matches', '$key', '.*'])),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'simple condition with two properties',
      fields: () => v1Fields(policyWith({ key: 'a', bucket: 'b' })),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'not-in with a string instead of a list',
      fields: () => v1Fields(policyWith(['not-in', '$cache-control', 'no-cache'])),
      status: 400,
      code: 'InvalidPolicyDocument',
    },
    {
      name: 'wrong V1 signature',
      fields: () => ({ ...v1Fields(policyWith()), Signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'unknown OSSAccessKeyId',
      fields: () => ({ ...v1Fields(policyWith()), OSSAccessKeyId: 'nobody' }),
      status: 403,
      code: 'InvalidAccessKeyId',
    },
    {
      name: 'OSSAccessKeyId without a policy',
      fields: () => ({ OSSAccessKeyId: ACCESS_KEY_ID, Signature: 'x' }),
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'policy without a Signature',
      fields: () => {
        const { Signature: _unused, ...rest } = v1Fields(policyWith());
        return rest;
      },
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'wrong V4 signature',
      fields: () => ({ ...v4Fields(policyWith()), 'x-oss-signature': '0'.repeat(64) }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'V4 with a malformed x-oss-credential',
      fields: () => ({ ...v4Fields(policyWith()), 'x-oss-credential': 'just-a-key' }),
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'V4 with an unknown x-oss-signature-version',
      fields: () => ({ ...v4Fields(policyWith()), 'x-oss-signature-version': 'OSS5' }),
      status: 400,
      code: 'InvalidArgument',
    },
  ];

  it.each(rows)('$name → $code', async (row) => {
    const before = await keys();
    const result = await post({ key, ...row.fields() }, row.file);
    expect({ status: result.status, code: result.code }).toEqual({ status: row.status, code: row.code });
    if (row.message !== undefined) expect(result.message).toBe(row.message);
    expect(await keys()).toEqual(before);
  });

  it('anonymous forms are refused by a private bucket', async () => {
    const result = await post({ key });
    expect(result).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});
