/**
 * The receiver's credential endpoints end to end: a client asks the receiver for STS credentials
 * or a post policy (SPEC.md §10), uploads to a real upcall server with them (ali-oss / a browser-
 * style form), and the server's signed callback lands in the receiver's records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../src/receiver/app/create-receiver.ts';
import { defaultPostHost, sanitiseUserId } from '../../src/receiver/app/credential-endpoints.ts';
import type { UploadJson } from '../../src/receiver/app/uploads-api.ts';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { sendRaw } from '../helpers/receiver-callback-signer.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';

let server: TestServer;
let receiver: Receiver;
let origin: string;
let dataDir: string;

beforeAll(async () => {
  server = await startTestServer();
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-receiver-cred-'));
  receiver = await createReceiver({
    dataDir,
    // The storage server serves its callback key at <url>/callback_pub_key_v1.pem.
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
    const callback = {
      url: receiver.callbackUrl!,
      body: 'bucket=${bucket}&object=${object}&size=${size}&mimeType=${mimeType}&x:app=${x:app}',
      customValue: { app: 'mobile' },
    };
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
      vars: { 'x:app': 'mobile' },
      keyUrl: `${server.url}/callback_pub_key_v1.pem`,
    });

    await expect(client.put('uploads/bob/photo.txt', Buffer.from('x'), { callback })).rejects.toMatchObject({
      status: 403,
    });
    await expect(client.put('uploads/alice/no-callback.txt', Buffer.from('x'))).rejects.toMatchObject({
      status: 403,
    });
  });

  it('sanitises the user id and refuses unusable ones', async () => {
    expect(sanitiseUserId('../../etc')).toBe('.._.._etc');
    expect(sanitiseUserId('a b/c')).toBe('a_b_c');
    expect(sanitiseUserId('..')).toBeUndefined();
    expect(sanitiseUserId('  ')).toBeUndefined();
    const res = await getJson('/sts?user=..');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ StatusCode: 400, ErrorCode: 'InvalidArgument' });
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
      expect(detail.json).toMatchObject({ verified: true, object: key, size: 9, bucket: server.bucket });

      // The dir is enforced: the same bundle cannot write elsewhere.
      form.set('key', `uploads/dave/v${version}.txt`);
      const outside = await fetch(`${json.host as string}/`, { method: 'POST', body: form });
      expect(outside.status).toBe(403);
      await outside.text();
    },
  );

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
