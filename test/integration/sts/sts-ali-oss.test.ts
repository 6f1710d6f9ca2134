/**
 * ali-oss with temporary credentials (`stsToken`, and `refreshSTSToken` handing out fresh ones)
 * against a real server: put and multipart uploads (also with upload callbacks a token requires)
 * work unmodified, and the token's bucket, key prefix, actions and expiry are enforced.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mintTemporaryCredentials,
  type TemporaryAction,
  type TemporaryCredentials,
} from '../../../src/client/temporary-credentials.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import {
  ACCESS_KEY_ID,
  ACCESS_KEY_SECRET,
  createMultipartTestBed,
  type MultipartTestBed,
  type OssTestClient,
} from '../../helpers/multipart-test-bed.ts';

/** The extra calls these tests make beyond the multipart ones. */
interface StsClient extends OssTestClient {
  put(
    name: string,
    body: Buffer,
    options?: Record<string, unknown>,
  ): Promise<{ res: { status: number }; data?: unknown }>;
}

const BUCKET = 'sts-bucket';
const ALL_UPLOAD_ACTIONS: TemporaryAction[] = [
  'PutObject',
  'GetObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
];

let bed: MultipartTestBed;
let sink: CallbackSink;
let dir: string;
let file: string;

beforeAll(async () => {
  bed = await createMultipartTestBed(BUCKET);
  sink = await startCallbackSink();
  dir = await mkdtemp(join(tmpdir(), 'upcall-sts-'));
  file = join(dir, 'three-parts.bin');
  await writeFile(file, Buffer.alloc(250 * 1024, 0x53));
});

afterAll(async () => {
  await bed.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

function mint(
  overrides: { prefix?: string; actions?: TemporaryAction[]; callbackUrl?: string; now?: Date } = {},
): TemporaryCredentials {
  return mintTemporaryCredentials({
    rootAccessKeyId: ACCESS_KEY_ID,
    rootAccessKeySecret: ACCESS_KEY_SECRET,
    policy: {
      bucket: BUCKET,
      prefix: overrides.prefix ?? 'user-7/',
      actions: overrides.actions ?? ALL_UPLOAD_ACTIONS,
      ...(overrides.callbackUrl !== undefined && { callbackUrl: overrides.callbackUrl }),
      expiresInSeconds: 900,
    },
    now: overrides.now ?? new Date(),
  });
}

function stsClient(credentials: TemporaryCredentials, options: Record<string, unknown> = {}): StsClient {
  return bed.client({
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
    ...options,
  }) as StsClient;
}

async function size(key: string): Promise<number | undefined> {
  return bed.store.headObject(BUCKET, key).then(
    (o) => o.size,
    () => undefined,
  );
}

describe('ali-oss with stsToken', () => {
  it('puts and multipart-uploads inside the token prefix', async () => {
    const client = stsClient(mint());
    const put = await client.put('user-7/put.txt', Buffer.from('temporary'));
    expect(put.res.status).toBe(200);
    const multipart = await client.multipartUpload('user-7/multi.bin', file, {
      partSize: 100 * 1024,
      parallel: 2,
    });
    expect(multipart.res.status).toBe(200);
    expect(await size('user-7/put.txt')).toBe(9);
    expect(await size('user-7/multi.bin')).toBe(250 * 1024);
  });

  it('keeps uploading with refreshSTSToken handing out new tokens', async () => {
    let refreshed = 0;
    const client = stsClient(mint(), {
      refreshSTSTokenInterval: 0,
      refreshSTSToken: () => {
        refreshed++;
        const next = mint();
        return Promise.resolve({
          accessKeyId: next.AccessKeyId,
          accessKeySecret: next.AccessKeySecret,
          stsToken: next.SecurityToken,
        });
      },
    });
    const result = await client.multipartUpload('user-7/refreshed.bin', file, {
      partSize: 100 * 1024,
      parallel: 1,
    });
    expect(result.res.status).toBe(200);
    // Initiate, three parts and Complete: every request after the first used a fresh token.
    expect(refreshed).toBeGreaterThanOrEqual(4);
    expect(await size('user-7/refreshed.bin')).toBe(250 * 1024);
  });

  it('uploads with the callback a token requires, put and multipart', async () => {
    const callbackUrl = `${sink.url}/sts`;
    const client = stsClient(mint({ callbackUrl }));
    const callback = { url: callbackUrl, body: 'object=${object}&size=${size}' };
    const put = await client.put('user-7/cb-put.txt', Buffer.from('with callback'), { callback });
    expect(put.res.status).toBe(200);
    expect(put.data).toMatchObject({ Status: 'OK' });
    const multipart = await client.multipartUpload('user-7/cb-multi.bin', file, {
      partSize: 100 * 1024,
      callback,
    });
    expect(multipart.res.status).toBe(200);
    expect(sink.received.map((c) => c.body.toString())).toEqual(
      expect.arrayContaining([
        'object=user-7%2Fcb-put.txt&size=13',
        `object=user-7%2Fcb-multi.bin&size=${250 * 1024}`,
      ]),
    );
  });

  const refusals: {
    name: string;
    run: () => Promise<unknown>;
    code: string;
    key: string;
  }[] = [
    {
      name: 'put outside the prefix',
      run: () => stsClient(mint()).put('user-8/no.txt', Buffer.from('x')),
      code: 'AccessDenied',
      key: 'user-8/no.txt',
    },
    {
      name: 'multipart outside the prefix',
      run: () => stsClient(mint()).multipartUpload('user-8/no.bin', file, { partSize: 100 * 1024 }),
      code: 'AccessDenied',
      key: 'user-8/no.bin',
    },
    {
      name: 'multipart with a token that may not CompleteMultipartUpload',
      run: () =>
        stsClient(mint({ actions: ['InitiateMultipartUpload', 'UploadPart'] })).multipartUpload(
          'user-7/no-complete.bin',
          file,
          { partSize: 100 * 1024 },
        ),
      code: 'AccessDenied',
      key: 'user-7/no-complete.bin',
    },
    {
      name: 'put with a token that only allows GetObject',
      run: () => stsClient(mint({ actions: ['GetObject'] })).put('user-7/read-only.txt', Buffer.from('x')),
      code: 'AccessDenied',
      key: 'user-7/read-only.txt',
    },
    {
      name: 'put without the callback the token requires',
      run: () =>
        stsClient(mint({ callbackUrl: `${sink.url}/sts` })).put('user-7/no-cb.txt', Buffer.from('x')),
      code: 'AccessDenied',
      key: 'user-7/no-cb.txt',
    },
    {
      name: 'multipart Complete without the callback the token requires',
      run: () =>
        stsClient(mint({ callbackUrl: `${sink.url}/sts` })).multipartUpload('user-7/no-cb.bin', file, {
          partSize: 100 * 1024,
        }),
      code: 'AccessDenied',
      key: 'user-7/no-cb.bin',
    },
    {
      name: 'put with an expired token',
      run: () =>
        stsClient(mint({ now: new Date(Date.now() - 3600_000) })).put('user-7/expired.txt', Buffer.from('x')),
      code: 'SecurityTokenExpired',
      key: 'user-7/expired.txt',
    },
    {
      name: 'put with a token of another key',
      run: () => {
        const mine = mint();
        return stsClient({ ...mine, SecurityToken: mint().SecurityToken }).put(
          'user-7/other.txt',
          Buffer.from('x'),
        );
      },
      code: 'InvalidAccessKeyId',
      key: 'user-7/other.txt',
    },
  ];

  it.each(refusals)('refuses $name with $code and stores nothing', async (row) => {
    const error = await row.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: row.code, status: 403 });
    expect(await size(row.key)).toBeUndefined();
  });
});
