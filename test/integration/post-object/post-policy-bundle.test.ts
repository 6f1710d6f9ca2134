/**
 * The client's PostObject bundle (src/client/post-policy.ts) posted as a browser would, to a real
 * upcall server: V1 and V4, root and temporary credentials, and the refusals a bundle must cause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCallbackParams } from '../../../src/client/callback-params.ts';
import {
  buildPostPolicyBundle,
  postObjectFormFields,
  type PostPolicyBundle,
} from '../../../src/client/post-policy.ts';
import { mintTemporaryCredentials } from '../../../src/client/temporary-credentials.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

async function post(fields: Array<[string, string]>, file = 'hello') {
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  form.append('file', new Blob([file]), 'f.txt');
  const response = await fetch(`${server.url}/${server.bucket}/`, { method: 'POST', body: form });
  const body = await response.text();
  return { status: response.status, code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1] };
}

async function stored(key: string): Promise<string | undefined> {
  try {
    const object = await server.store.getObject(server.bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of object.body as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString();
  } catch {
    return undefined;
  }
}

function bundle(
  version: 1 | 4,
  extra: Partial<Parameters<typeof buildPostPolicyBundle>[0]> = {},
): PostPolicyBundle {
  return buildPostPolicyBundle({
    credentials: { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
    host: server.url,
    bucket: server.bucket,
    dir: 'user-dirs/',
    expiresInSeconds: 300,
    maxSize: 1024,
    now: new Date(),
    signatureVersion: version,
    ...extra,
  });
}

describe.each([1, 4] as const)('PostObject with a V%i client bundle', (version) => {
  it('stores the file under the bundle dir', async () => {
    const b = bundle(version);
    expect(await post(postObjectFormFields(b, `user-dirs/v${version}.txt`), `body v${version}`)).toEqual({
      status: 200,
      code: undefined,
    });
    expect(await stored(`user-dirs/v${version}.txt`)).toBe(`body v${version}`);
  });

  it('is refused outside the dir, over the size limit, and when the policy is altered', async () => {
    const b = bundle(version);
    expect(await post(postObjectFormFields(b, `elsewhere/v${version}.txt`))).toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
    expect((await post(postObjectFormFields(b, `user-dirs/big${version}`), 'x'.repeat(2048))).status).toBe(
      400,
    );
    const other = bundle(version, { dir: '' });
    const tampered = postObjectFormFields(b, `elsewhere/t${version}.txt`).map(([k, v]): [string, string] =>
      k === 'policy' ? [k, other.policy] : [k, v],
    );
    expect(await post(tampered)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await stored(`elsewhere/t${version}.txt`)).toBeUndefined();
  });

  it('works with temporary credentials, whose token is part of the form', async () => {
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: server.accessKeyId,
      rootAccessKeySecret: server.accessKeySecret,
      policy: { bucket: server.bucket, prefix: 'user-dirs/', actions: ['PostObject'], expiresInSeconds: 300 },
      now: new Date(),
    });
    const b = bundle(version, {
      credentials: {
        accessKeyId: creds.AccessKeyId,
        accessKeySecret: creds.AccessKeySecret,
        securityToken: creds.SecurityToken,
      },
    });
    expect(b.security_token).toBe(creds.SecurityToken);
    expect(await post(postObjectFormFields(b, `user-dirs/sts${version}.txt`), 'sts')).toMatchObject({
      status: 200,
    });
    expect(await stored(`user-dirs/sts${version}.txt`)).toBe('sts');
  });

  it('with lockCallback, a form that drops the callback is refused', async () => {
    const callback = buildCallbackParams({ url: 'http://127.0.0.1:9/cb', body: 'object=${object}' });
    const b = bundle(version, { callback, lockCallback: true });
    const withoutCallback = postObjectFormFields(b, `user-dirs/nocb${version}.txt`).filter(
      ([k]) => k !== 'callback',
    );
    expect(await post(withoutCallback)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await stored(`user-dirs/nocb${version}.txt`)).toBeUndefined();
  });
});
