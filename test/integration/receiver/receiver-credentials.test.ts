/**
 * The receiver's credential endpoints end to end: a client asks the receiver for STS credentials
 * or a post policy (SPEC.md §10), uploads to a real upcall server with them (ali-oss / a browser-
 * style form), and the server's signed callback lands in the receiver's records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../../src/receiver/app/create-receiver.ts';
import {
  DEFAULT_POST_POLICY_MAX_SIZE,
  defaultPostHost,
  sanitiseUserId,
} from '../../../src/receiver/app/credential-endpoints.ts';
import type { UploadJson } from '../../../src/receiver/app/uploads-api.ts';
import { buildCallbackParams } from '../../../src/client/callback-params.ts';
import { buildPostPolicyBundle, postObjectFormFields } from '../../../src/client/post-policy.ts';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { createCallbackSigner, sendRaw } from '../../helpers/receiver-callback-signer.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let receiver: Receiver;
let origin: string;
let dataDir: string;

beforeAll(async () => {
  server = await startTestServer();
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-receiver-cred-'));
  receiver = await createReceiver({
    dataDir,
    // A bare origin: the storage server's own key URL, <url>/callback_pub_key_v1.pem, only.
    keyUrlAllowlist: [`${server.url}/`],
    credentials: {
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      bucket: server.bucket,
      endpoint: server.url,
      maxSize: 1024,
    },
  });
  origin = await receiver.listen();
});
afterAll(async () => {
  await receiver.close();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function getJson(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await sendRaw(origin, { method: 'GET', target: path });
  return { status: res.status, json: res.json as Record<string, unknown> };
}

interface Sts {
  StatusCode: number;
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  Callback: string;
}

/** ali-oss's `callback` option for the callback the credentials were issued with. */
function issuedCallback(sts: Sts): { url: string; body: string; contentType: string } {
  const issued = JSON.parse(Buffer.from(sts.Callback, 'base64').toString()) as Record<string, string>;
  return { url: issued.callbackUrl!, body: issued.callbackBody!, contentType: issued.callbackBodyType! };
}

describe('GET /sts', () => {
  it('answers the mobile AppServer format and the credentials upload only under the user prefix, with the callback', async () => {
    const { status, json } = await getJson('/sts?user=alice');
    expect(status).toBe(200);
    const sts = json as unknown as Sts;
    expect(Object.keys(sts)).toEqual([
      'StatusCode',
      'AccessKeyId',
      'AccessKeySecret',
      'SecurityToken',
      'Expiration',
      'Callback',
    ]);
    expect(sts.StatusCode).toBe(200);
    expect(sts.AccessKeyId).toMatch(/^STS\./);
    expect(sts.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await getJson('/api/sts?user=alice')).status).toBe(200);

    const client = ossClient(server, {
      accessKeyId: sts.AccessKeyId,
      accessKeySecret: sts.AccessKeySecret,
      stsToken: sts.SecurityToken,
    });
    const callback = issuedCallback(sts);
    expect(callback.url).toBe(receiver.callbackUrl);
    const put = await client.put('uploads/alice/photo.txt', Buffer.from('hello sts'), { callback });
    expect(put.res.status).toBe(200);
    const reply = put.data as { Status: string; id: number; object: string };
    expect(reply).toMatchObject({ Status: 'OK', object: 'uploads/alice/photo.txt' });

    const detail = await getJson(`/api/uploads/${reply.id}`);
    expect(detail.json as unknown as UploadJson).toMatchObject({
      verified: true,
      bucket: server.bucket,
      object: 'uploads/alice/photo.txt',
      size: 9,
      templateIssued: true,
      keyUrl: `${server.url}/callback_pub_key_v1.pem`,
    });

    await expect(client.put('uploads/bob/photo.txt', Buffer.from('x'), { callback })).rejects.toMatchObject({
      status: 403,
    });
    await expect(client.put('uploads/alice/no-callback.txt', Buffer.from('x'))).rejects.toMatchObject({
      status: 403,
    });
  });

  // Issue 14, item 2: the signature proves the server sent the callback, not that its body is true.
  // Credentials the receiver issues bind the whole callback; the server refuses any other.
  it('the storage server refuses an upload whose callback differs from the one the credentials bind', async () => {
    const sts = (await getJson('/sts?user=alice')).json as unknown as Sts;
    const client = ossClient(server, {
      accessKeyId: sts.AccessKeyId,
      accessKeySecret: sts.AccessKeySecret,
      stsToken: sts.SecurityToken,
    });
    const issued = issuedCallback(sts);
    const forgeries = [
      { ...issued, body: 'object=uploads/bob/evil.jpg&size=999' },
      { ...issued, body: issued.body.replace('object=${object}', 'object=uploads/bob/evil.jpg') },
      { ...issued, contentType: 'application/json' },
      { ...issued, host: 'other.example' },
      { ...issued, url: `${issued.url}?x=1` },
    ];
    for (const callback of forgeries) {
      const err = await client
        .put('uploads/alice/innocent.txt', Buffer.from('x'), { callback })
        .catch((e: unknown) => e as { status: number; code: string; message: string });
      expect(err, JSON.stringify(callback)).toMatchObject({ status: 403, code: 'AccessDenied' });
      expect((err as { message: string }).message).toContain('callback');
    }
    // Nothing was stored under the forged uploads, and nothing was recorded.
    await expect(ossClient(server).head('uploads/alice/innocent.txt')).rejects.toMatchObject({ status: 404 });
    const records = await getJson('/api/uploads?limit=100');
    expect(JSON.stringify(records.json)).not.toContain('evil.jpg');
    // The issued callback itself goes through.
    const put = await client.put('uploads/alice/innocent.txt', Buffer.from('x'), { callback: issued });
    expect(put.res.status).toBe(200);
  });

  it('the same holds for a PostObject form the holder of the credentials signs', async () => {
    const sts = (await getJson('/sts?user=alice')).json as unknown as Sts;
    const issued = issuedCallback(sts);
    const post = async (body: string) => {
      const bundle = buildPostPolicyBundle({
        credentials: {
          accessKeyId: sts.AccessKeyId,
          accessKeySecret: sts.AccessKeySecret,
          securityToken: sts.SecurityToken,
        },
        host: `${server.url}/${server.bucket}`,
        bucket: server.bucket,
        dir: 'uploads/alice/',
        expiresInSeconds: 60,
        now: new Date(),
        callback: buildCallbackParams({
          url: issued.url,
          body,
          bodyType: 'application/x-www-form-urlencoded',
        }),
      });
      const form = new FormData();
      for (const [name, value] of postObjectFormFields(bundle, 'uploads/alice/form.txt'))
        form.append(name, value);
      form.append('file', new Blob(['form']), 'form.txt');
      const res = await fetch(`${bundle.host}/`, { method: 'POST', body: form });
      return { status: res.status, text: await res.text() };
    };
    const forged = await post('object=uploads/bob/evil.jpg&size=999');
    expect(forged.status, forged.text).toBe(403);
    expect(forged.text).toContain('<Code>AccessDenied</Code>');
    expect(forged.text).toContain('callback');
    const honest = await post(issued.body);
    expect(honest.status, honest.text).toBe(200);
  });

  it('marks a record whose body comes from a template it did not issue, even when verified', async () => {
    // A root key is not bound: it can send any template, and the signature still verifies.
    const root = ossClient(server);
    const put = await root.put('uploads/alice/root.txt', Buffer.from('root'), {
      callback: { url: receiver.callbackUrl!, body: 'object=uploads/bob/evil.jpg&size=999' },
    });
    const reply = put.data as { id: number };
    const detail = await getJson(`/api/uploads/${reply.id}`);
    expect(detail.json).toMatchObject({
      verified: true,
      templateIssued: false,
      object: 'uploads/bob/evil.jpg',
    });
  });

  it('maps user ids to key prefixes one-to-one and refuses unusable ones', async () => {
    expect(sanitiseUserId('alice')).toBe('alice');
    expect(sanitiseUserId('../../etc')).toBe('_2e._2f.._2fetc');
    expect(sanitiseUserId('a b/c')).toBe('a_20b_2fc');
    expect(sanitiseUserId('..')).toBe('_2e.');
    expect(sanitiseUserId('')).toBeUndefined();
    expect(sanitiseUserId('x'.repeat(129))).toBeUndefined();
    const res = await getJson('/sts?user=');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ StatusCode: 400, ErrorCode: 'InvalidArgument' });
  });

  // Issue 14, item 3: `alice@x.com` and `alice_x.com` shared `uploads/alice_x.com/`, and two
  // 65-character ids differing in the last character shared a truncated prefix.
  it.each([
    ['alice@x.com', 'alice_x.com'],
    [`${'a'.repeat(64)}b`, `${'a'.repeat(64)}c`],
  ])('gives %s and %s different prefixes', async (first, second) => {
    const dirs = await Promise.all(
      [first, second].map(async (user) => {
        const res = await getJson(`/api/post-policy?user=${encodeURIComponent(user)}`);
        expect(res.status).toBe(200);
        return res.json.dir as string;
      }),
    );
    expect(dirs[0]).not.toBe(dirs[1]);
    expect(dirs.every((dir) => dir.startsWith('uploads/') && dir.endsWith('/'))).toBe(true);
  });
});

// Issue 14, item 1: the docs told users to allow the storage server's origin as a key-URL prefix;
// anyone who may upload could then serve their own key from a public-read object on that server.
describe('callback key URL', () => {
  it('refuses a callback signed with a key stored as a public-read object on the storage server', async () => {
    const root = ossClient(server, { bucket: 'pub' });
    await root.putBucket('pub');
    await root.putBucketACL('pub', 'public-read');
    const attacker = createCallbackSigner({ keyUrl: `${server.url}/pub/k.pem` });
    await root.put('k.pem', Buffer.from(attacker.publicKeyPem));
    // The forged key really is served to anyone, so only the allowlist stands in the way.
    const served = await fetch(`${server.url}/pub/k.pem`);
    expect(await served.text()).toBe(attacker.publicKeyPem);

    const body = Buffer.from('bucket=upcall-test&object=uploads%2Fbob%2Fevil.jpg&size=999');
    const res = await sendRaw(origin, {
      target: '/callback',
      headers: attacker.headers('/callback', body),
      body,
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('key-host-not-allowed');
    const verified = await getJson('/api/uploads?verified=true&limit=100');
    expect(JSON.stringify(verified.json)).not.toContain('/pub/k.pem');
  });
});

describe('GET /api/post-policy', () => {
  it.each(['1', '4'])(
    'V%s bundle: the browser form uploads under the dir and the callback is recorded',
    async (version) => {
      const { status, json } = await getJson(`/api/post-policy?user=carol&version=${version}`);
      expect(status).toBe(200);
      expect(json).toMatchObject({ host: `${server.url}/${server.bucket}`, dir: 'uploads/carol/' });
      expect(typeof json.expire).toBe('number');
      if (version === '1') {
        expect(Object.keys(json)).toEqual(
          expect.arrayContaining(['accessid', 'host', 'policy', 'signature', 'expire', 'callback', 'dir']),
        );
      } else {
        expect(json).toMatchObject({ x_oss_signature_version: 'OSS4-HMAC-SHA256' });
      }
      const callbackJson = JSON.parse(Buffer.from(json.callback as string, 'base64').toString()) as Record<
        string,
        string
      >;
      expect(callbackJson.callbackUrl).toBe(receiver.callbackUrl);

      const key = `uploads/carol/v${version}.txt`;
      const form = new FormData();
      // The official browser sample's field order (SPEC.md §10.2), file last.
      form.append('key', key);
      form.append('policy', json.policy as string);
      if (version === '1') {
        form.append('OSSAccessKeyId', json.accessid as string);
      } else {
        form.append('x-oss-signature-version', json.x_oss_signature_version as string);
        form.append('x-oss-credential', json.x_oss_credential as string);
        form.append('x-oss-date', json.x_oss_date as string);
      }
      form.append('success_action_status', '200');
      form.append('callback', json.callback as string);
      form.append(version === '1' ? 'signature' : 'x-oss-signature', json.signature as string);
      form.append('file', new Blob(['form body']), 'f.txt');
      const res = await fetch(`${json.host as string}/`, { method: 'POST', body: form });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const reply = JSON.parse(text) as { id: number; object: string };
      expect(reply.object).toBe(key);
      const detail = await getJson(`/api/uploads/${reply.id}`);
      expect(detail.json).toMatchObject({
        verified: true,
        templateIssued: true,
        object: key,
        size: 9,
        bucket: server.bucket,
      });

      // The dir is enforced: the same bundle cannot write elsewhere.
      form.set('key', `uploads/dave/v${version}.txt`);
      const outside = await fetch(`${json.host as string}/`, { method: 'POST', body: form });
      expect(outside.status).toBe(403);
      await outside.text();
    },
  );

  // Issue 14: issued post policies carried no content-length-range unless maxSize was configured.
  it('bounds the file size by default, and the storage server refuses a larger form upload', async () => {
    const bare = await createReceiver({
      dataDir: await mkdtemp(join(tmpdir(), 'upcall-receiver-bare-')),
      keyUrlAllowlist: [server.url],
      credentials: {
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        bucket: server.bucket,
        endpoint: server.url,
        // no maxSize: the default applies
      },
    });
    try {
      const bareOrigin = await bare.listen();
      const res = await sendRaw(bareOrigin, { method: 'GET', target: '/api/post-policy?user=erin' });
      const bundle = res.json as Record<string, string>;
      const policy = JSON.parse(Buffer.from(bundle.policy!, 'base64').toString()) as {
        conditions: unknown[];
      };
      expect(policy.conditions).toContainEqual(['content-length-range', 0, DEFAULT_POST_POLICY_MAX_SIZE]);

      const form = new FormData();
      form.append('key', 'uploads/erin/big.bin');
      form.append('policy', bundle.policy!);
      form.append('OSSAccessKeyId', bundle.accessid!);
      form.append('success_action_status', '200');
      form.append('callback', bundle.callback!);
      form.append('signature', bundle.signature!);
      form.append('file', new Blob([new Uint8Array(DEFAULT_POST_POLICY_MAX_SIZE + 1)]), 'big.bin');
      const upload = await fetch(`${bundle.host!}/`, { method: 'POST', body: form });
      const text = await upload.text();
      expect(upload.status, text).toBe(400);
      expect(text).toContain('<Code>EntityTooLarge</Code>');
    } finally {
      await bare.close();
    }
  });

  it('refuses an unknown version', async () => {
    expect((await getJson('/api/post-policy?version=3')).status).toBe(400);
  });

  it('picks virtual-host style for DNS endpoints and path style for IPs and localhost', () => {
    expect(defaultPostHost('https://oss-cn-hangzhou.aliyuncs.com', 'b')).toBe(
      'https://b.oss-cn-hangzhou.aliyuncs.com',
    );
    expect(defaultPostHost('http://127.0.0.1:9000', 'b')).toBe('http://127.0.0.1:9000/b');
    expect(defaultPostHost('http://localhost:9000/', 'b')).toBe('http://localhost:9000/b');
    expect(defaultPostHost('http://[::1]:9000', 'b')).toBe('http://[::1]:9000/b');
  });
});
