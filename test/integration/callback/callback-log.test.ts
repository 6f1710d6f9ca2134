// The callback log and redelivery (issue 18), end to end: ali-oss uploads while the app server is
// down end in 203; `upcall callbacks --failed` lists them; once the app server (the receiver app)
// is up, `upcall callbacks redeliver --failed` delivers each and the receiver records each once;
// redelivering a callback the receiver had already recorded records nothing twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbacksCommand } from '../../../src/cli/commands/callbacks.ts';
import type { LoggedCallback, RedeliveryResult } from '../../../src/client/callback-log-types.ts';
import { OssClient } from '../../../src/client/oss-client.ts';
import { mintTemporaryCredentials } from '../../../src/client/temporary-credentials.ts';
import { createReceiver, type Receiver } from '../../../src/receiver/app/create-receiver.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';
import { runCli } from '../../helpers/run-cli.ts';

let server: TestServer;
let client: AliOssClient;
let receiver: Receiver | undefined;
let receiverDir: string;
let appPort: number;
let env: Record<string, string>;

/** A port nothing listens on yet: the app server is down until the receiver binds it. */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function upload(key: string): Promise<{ status: number; requestId: string; data: unknown }> {
  const callback = {
    url: `http://127.0.0.1:${appPort}/callback`,
    body: 'bucket=${bucket}&object=${object}&size=${size}&v=${x:v}',
    customValue: { v: key },
  };
  try {
    const result = await client.put(key, Buffer.from(`body of ${key}`), { callback });
    return {
      status: result.res.status,
      requestId: result.res.headers['x-oss-request-id'],
      data: result.data,
    };
  } catch (error) {
    const failure = error as { status: number; requestId: string; name: string };
    expect(failure.name).toBe('CallbackFailedError');
    return { status: failure.status, requestId: failure.requestId, data: undefined };
  }
}

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return runCli(callbacksCommand, ['callbacks', ...args], { cwd: receiverDir, env });
}

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  client = ossClient(server);
  receiverDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-'));
  appPort = await freePort();
  env = {
    UPCALL_ENDPOINT: server.url,
    UPCALL_ACCESS_KEY_ID: server.accessKeyId,
    UPCALL_ACCESS_KEY_SECRET: server.accessKeySecret,
  };
});
afterAll(async () => {
  await receiver?.close();
  await server.close();
  await rm(receiverDir, { recursive: true, force: true });
});

describe('an app server that fails, then recovers', () => {
  const failedIds: string[] = [];

  it('uploads while the app server is down end in 203, and `upcall callbacks --failed` lists them', async () => {
    for (const key of ['down/one.txt', 'down/two.txt', 'down/three.txt']) {
      const result = await upload(key);
      expect(result.status).toBe(203);
      failedIds.push(result.requestId);
    }
    const listed = await cli('--failed', '--json');
    expect(listed.exitCode).toBe(0);
    const entries = JSON.parse(listed.stdout) as LoggedCallback[];
    expect(entries.map((e) => e.requestId).sort()).toEqual([...failedIds].sort());
    for (const entry of entries) {
      expect(entry).toMatchObject({ bucket: server.bucket, operation: 'PutObject', failed: true });
      expect(entry.reason).toContain('OSS can not connect to your callbackUrl');
      expect(entry.urls).toEqual([`http://127.0.0.1:${appPort}/callback`]);
      expect(entry.body).toBe(
        `bucket=${server.bucket}&object=${encodeURIComponent(entry.key)}&size=${`body of ${entry.key}`.length}&v=${encodeURIComponent(entry.key)}`,
      );
      expect(entry.deliveries).toHaveLength(1);
      expect(entry.deliveries[0]?.attempts[0]).toMatchObject({ ok: false, url: entry.urls[0] });
    }
    // The human listing names each upload and why it failed.
    const text = await cli('--failed');
    for (const key of ['down/one.txt', 'down/two.txt', 'down/three.txt']) {
      expect(text.stdout).toContain(`oss://${server.bucket}/${key}`);
    }
    expect(text.stdout).toContain('FAILED');
    // Filters: by key, and since a time after every upload.
    const one = JSON.parse((await cli('--key', 'down/two.txt', '--json')).stdout) as LoggedCallback[];
    expect(one.map((e) => e.key)).toEqual(['down/two.txt']);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(JSON.parse((await cli('--since', future, '--json')).stdout)).toEqual([]);
  });

  it('`redeliver --failed` delivers them once the app server is up, and the receiver records each once', async () => {
    receiver = await createReceiver({
      dataDir: receiverDir,
      port: appPort,
      keyUrlAllowlist: [`${server.url}/`],
      logger: false,
    });
    await receiver.listen();
    const run = await cli('redeliver', '--failed', '--json');
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const results = JSON.parse(run.stdout) as RedeliveryResult[];
    expect(results.map((r) => r.requestId).sort()).toEqual([...failedIds].sort());
    expect(results.every((r) => r.ok)).toBe(true);

    const page = await receiver.uploads.list({ limit: 100 });
    expect(
      page.uploads
        .filter((u) => u.verified)
        .map((u) => u.requestId)
        .sort(),
    ).toEqual([...failedIds].sort());
    expect(page.uploads.map((u) => u.object).sort()).toEqual([
      'down/one.txt',
      'down/three.txt',
      'down/two.txt',
    ]);

    // No longer failed; each entry now has two deliveries, the second a success.
    expect(JSON.parse((await cli('--failed', '--json')).stdout)).toEqual([]);
    const all = JSON.parse((await cli('--json')).stdout) as LoggedCallback[];
    for (const entry of all) {
      expect(entry.failed).toBe(false);
      expect(entry.deliveries.map((d) => [d.ok, d.redelivery])).toEqual([
        [false, false],
        [true, true],
      ]);
      expect(JSON.parse(entry.deliveries[1]?.reply ?? '')).toMatchObject({ Status: 'OK', object: entry.key });
    }
    // Nothing left to redeliver: exit 0, nothing sent.
    const again = await cli('redeliver', '--failed');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('a redelivery of a callback the receiver had recorded records nothing twice and answers the first reply', async () => {
    const first = await upload('up/recorded.txt');
    expect(first.status).toBe(200);
    const before = (await receiver!.uploads.list({ limit: 100 })).uploads.length;

    const run = await cli('redeliver', first.requestId, '--json');
    expect(run.exitCode).toBe(0);
    const [result] = JSON.parse(run.stdout) as RedeliveryResult[];
    expect(result?.ok).toBe(true);
    // The first reply, byte for byte as the upload got it (same record id).
    expect(JSON.parse(result?.reply ?? '')).toEqual(first.data);

    const after = await receiver!.uploads.list({ limit: 100 });
    expect(after.uploads).toHaveLength(before);
    expect(after.uploads.filter((u) => u.requestId === first.requestId)).toHaveLength(1);
  });

  it('redelivering an unknown request id is InvalidArgument, and the CLI says so', async () => {
    const run = await cli('redeliver', '0123456789ABCDEF01234567');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('InvalidArgument');
    expect(run.stderr).toContain('No callback with this request id');
  });
});

describe('the admin endpoint', () => {
  it('answers only the root key: anonymous and temporary credentials get AccessDenied', async () => {
    const anonymous = await request(`${server.url}/_upcall/callbacks`);
    expect(anonymous.statusCode).toBe(403);
    expect(await anonymous.body.text()).toContain('<Code>AccessDenied</Code>');

    const temporary = mintTemporaryCredentials({
      rootAccessKeyId: server.accessKeyId,
      rootAccessKeySecret: server.accessKeySecret,
      policy: {
        bucket: server.bucket,
        prefix: '',
        actions: ['PutObject', 'GetObject'],
        expiresInSeconds: 600,
      },
      now: new Date(),
    });
    const sts = new OssClient({
      endpoint: server.url,
      accessKeyId: temporary.AccessKeyId,
      accessKeySecret: temporary.AccessKeySecret,
      securityToken: temporary.SecurityToken,
    });
    await expect(sts.listCallbacks()).rejects.toMatchObject({ code: 'AccessDenied', status: 403 });
    await expect(sts.redeliverCallbacks({ failed: true })).rejects.toMatchObject({ code: 'AccessDenied' });

    const wrongSecret = new OssClient({
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: 'nope',
    });
    await expect(wrongSecret.listCallbacks()).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });

  it('on a bucket virtual host the same path is an object request', async () => {
    const response = await request(`${server.url}/_upcall/callbacks`, {
      headers: { host: `${server.bucket}.localhost:${server.port}` },
    });
    // Anonymous GetObject on a private bucket, never the admin endpoint's JSON.
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toBe('application/xml');
    expect(await response.body.text()).not.toContain('callbacks');
  });

  it('refuses bad parameters with OSS errors, never a 500', async () => {
    const root = new OssClient({
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    });
    await expect(root.listCallbacks({ limit: 0 })).rejects.toMatchObject({
      code: 'InvalidArgument',
      status: 400,
    });
    await expect(root.listCallbacks({ limit: 1001 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(root.listCallbacks({ since: 'yesterday' })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(root.listCallbacks({ marker: 'x' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(root.redeliverCallbacks({ requestId: '' })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  it('pages with limit and marker, newest first, each entry once', async () => {
    const root = new OssClient({
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    });
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await root.listCallbacks({ limit: 2, ...(marker !== undefined && { marker }) });
      expect(page.callbacks.length).toBeLessThanOrEqual(2);
      seen.push(...page.callbacks.map((c) => c.requestId));
      marker = page.nextMarker;
    } while (marker !== undefined);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    const all = await root.listCallbacks();
    expect(all.callbacks.map((c) => c.requestId)).toEqual(seen);
    expect(all.callbacks[0]?.key).toBe('up/recorded.txt');
  });
});
