// `upcall dev` in-process: storage server + receiver wired together. An upload through the CLI
// with a callback to the printed callback URL is verified by the receiver (real RSA signature,
// key fetched from the allowlisted local key URL) and recorded; a restart keeps the keys.
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, type DevHandle } from '../../src/cli/commands/dev.ts';
import { presignCommand } from '../../src/cli/commands/presign.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { DEV_SESSION_FILE, type DevSession } from '../../src/cli/connection.ts';
import { createCallbackSigner, sendRaw } from '../helpers/receiver-callback-signer.ts';
import { startKeyServer } from '../helpers/receiver-key-server.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let dev: DevHandle;

function haveCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-dev-'));
  dev = await startDev({
    dataDir: join(dir, '.upcall'),
    port: 0,
    receiverPort: 0,
    host: '127.0.0.1',
    bucket: 'uploads',
    env: {},
  });
});
afterAll(async () => {
  await dev?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('upcall dev', () => {
  it('prints endpoint, bucket, credentials, callback and dashboard URLs and an ali-oss snippet', () => {
    const { banner, session } = dev;
    for (const value of [
      session.endpoint,
      session.bucket,
      session.accessKeyId,
      session.accessKeySecret,
      session.callbackUrl,
      session.dashboardUrl,
    ]) {
      expect(banner).toContain(value);
    }
    expect(banner).toContain("import OSS from 'ali-oss';");
  });

  it('writes a session file other commands use, and an upload with a callback is recorded', async () => {
    const session = JSON.parse(await readFile(join(dir, '.upcall', DEV_SESSION_FILE), 'utf8')) as DevSession;
    expect(session.endpoint).toBe(dev.session.endpoint);
    await writeFile(join(dir, 'hello.txt'), 'hello upcall');
    const put = await runCli(
      putCommand,
      [
        'put',
        'hello.txt',
        'oss://uploads/docs/',
        '--callback-url',
        session.callbackUrl,
        '--var',
        'device=ci',
      ],
      { cwd: dir, env: {} },
    );
    expect(put.stderr).toBe('');
    expect(put.exitCode).toBe(0);
    expect(put.stdout).toContain('callback: OK');
    const list = await request(`${session.receiverUrl}/api/uploads`);
    const text = await list.body.text();
    expect(text).toContain('docs/hello.txt');
    expect(text).toContain('"x:device":"ci"');
    // The receiver measured its own answer time and kept it with the record.
    expect((JSON.parse(text) as { uploads: { latencyMs?: number }[] }).uploads[0]!.latencyMs).toBeGreaterThan(
      0,
    );
  });

  it('the printed ali-oss snippet uploads with a callback the receiver records', async () => {
    const require = createRequire(import.meta.url);
    const OSS = require('ali-oss') as new (options: Record<string, string>) => {
      put: (name: string, body: Buffer, options: Record<string, unknown>) => Promise<{ data: unknown }>;
    };
    const { session } = dev;
    // The same options and callback as the banner prints.
    const client = new OSS({
      endpoint: session.endpoint,
      region: 'oss-cn-hangzhou',
      bucket: session.bucket,
      accessKeyId: session.accessKeyId,
      accessKeySecret: session.accessKeySecret,
    });
    const result = await client.put('hello.txt', Buffer.from('hello'), {
      callback: {
        url: session.callbackUrl,
        body: 'bucket=${bucket}&object=${object}&size=${size}&mimeType=${mimeType}&device=${x:device}',
        contentType: 'application/x-www-form-urlencoded',
        customValue: { device: 'laptop' },
      },
    });
    expect(result.data).toMatchObject({ Status: 'OK', object: 'hello.txt' });
    expect(dev.banner).toContain("customValue: { device: 'laptop' }");
  });

  // Issue 14, item 2: the demo's temporary credentials bind the callback the browser demo sends.
  it('the /sts credentials upload with the callback they name, and a forged callback body is refused', async () => {
    const require = createRequire(import.meta.url);
    const OSS = require('ali-oss') as new (options: Record<string, unknown>) => {
      multipartUpload: (
        name: string,
        body: Buffer,
        options: Record<string, unknown>,
      ) => Promise<{ data: unknown }>;
    };
    const { session } = dev;
    const sts = (await (await request(`${session.receiverUrl}/sts`)).body.json()) as Record<string, string>;
    const issued = JSON.parse(Buffer.from(sts.Callback!, 'base64').toString()) as Record<string, string>;
    const client = new OSS({
      endpoint: session.endpoint,
      region: 'oss-cn-hangzhou',
      bucket: session.bucket,
      accessKeyId: sts.AccessKeyId,
      accessKeySecret: sts.AccessKeySecret,
      stsToken: sts.SecurityToken,
    });
    // As the browser demo does (demo.js): the issued template, the page's own x: values.
    const callback = {
      url: issued.callbackUrl,
      body: issued.callbackBody,
      contentType: issued.callbackBodyType,
      customValue: { device: 'ci', app_version: '1', location: 'here' },
    };
    // Past ali-oss's 100 KB minimum part size, so the callback travels on CompleteMultipartUpload
    // after three parts, as with the demo's larger files.
    const result = await client.multipartUpload('demo/mobile/sts.bin', Buffer.alloc(300 * 1024, 1), {
      callback,
      partSize: 100 * 1024,
    });
    expect(result.data).toMatchObject({ Status: 'OK', object: 'demo/mobile/sts.bin' });
    const records = await (
      await request(`${session.receiverUrl}/api/uploads?prefix=demo/mobile/`)
    ).body.json();
    expect((records as { uploads: unknown[] }).uploads[0]).toMatchObject({
      object: 'demo/mobile/sts.bin',
      size: 300 * 1024,
      templateIssued: true,
      vars: { 'x:device': 'ci' },
    });
    await expect(
      client.multipartUpload('demo/mobile/innocent.txt', Buffer.from('x'), {
        callback: { ...callback, body: 'object=demo/other/evil.jpg&size=999' },
      }),
    ).rejects.toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  /** `upcall presign oss://uploads/<key> --method PUT` with the session's callback, as the README has it. */
  async function presignPutWithCallback(key: string): Promise<string> {
    const presign = await runCli(
      presignCommand,
      [
        'presign',
        `oss://uploads/${key}`,
        '--method',
        'PUT',
        '--content-type',
        'text/plain',
        '--callback-url',
        dev.session.callbackUrl,
      ],
      { cwd: dir, env: {} },
    );
    expect(presign.exitCode).toBe(0);
    return presign.stdout.trim();
  }

  it('the README curl variant: a presigned PUT carrying the callback', async () => {
    await writeFile(join(dir, 'curl.txt'), 'via curl');
    const url = await presignPutWithCallback('curl.txt');
    const res = await request(url, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'via curl',
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ Status: 'OK', object: 'curl.txt' });
  });

  it.skipIf(!haveCurl())('the README curl command itself: curl -T with the presigned URL', async () => {
    await writeFile(join(dir, 'package.json'), '{"name":"from-curl"}');
    const url = await presignPutWithCallback('hello.txt');
    // As the README has it: curl -sS -T package.json -H 'Content-Type: text/plain' "$url"
    const { stdout } = await promisify(execFile)(
      'curl',
      ['-sS', '-T', 'package.json', '-H', 'Content-Type: text/plain', url],
      { cwd: dir },
    );
    expect(JSON.parse(stdout)).toMatchObject({ Status: 'OK', object: 'hello.txt' });
  });

  it('serves the dashboard and demo from the receiver', async () => {
    for (const path of ['/dashboard', '/demo', '/vendor/aliyun-oss-sdk.min.js']) {
      const res = await request(`${dev.session.receiverUrl}${path}`);
      // Not reading the whole SDK leaves a response in flight; close() must still finish.
      await res.body.dump({ limit: 1024 });
      expect(res.statusCode).toBe(200);
    }
  });

  it("the receiver trusts only the local server's key URL: a foreign key is never fetched", async () => {
    // A well-formed callback signed by someone else, whose key is really served (so only the
    // allowlist, not a failed fetch, can refuse it).
    const foreign = await startKeyServer({ kind: 'pem', pem: '' });
    try {
      const signer = createCallbackSigner({ keyUrl: foreign.keyUrl, modulusLength: 1024 });
      foreign.mode = { kind: 'pem', pem: signer.publicKeyPem };
      const body = Buffer.from('bucket=uploads&object=forged.txt&size=1');
      const target = new URL(dev.session.callbackUrl).pathname;
      const res = await sendRaw(dev.session.receiverUrl, {
        target,
        headers: signer.headers(target, body),
        body,
      });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ Status: 'Failed', Reason: 'key-host-not-allowed' });
      expect(foreign.hits()).toBe(0);
      const list = await request(`${dev.session.receiverUrl}/api/uploads`);
      const uploads = (
        (await list.body.json()) as { uploads: { verified: boolean; fields?: Record<string, string> }[] }
      ).uploads;
      expect(uploads.some((u) => u.verified && u.fields?.['object'] === 'forged.txt')).toBe(false);
    } finally {
      await foreign.close();
    }
  });

  it('closes both servers, even with a response left unread, and removes the session file', async () => {
    const { endpoint, receiverUrl } = dev.session;
    await dev.close();
    await expect(readFile(join(dir, '.upcall', DEV_SESSION_FILE))).rejects.toThrow();
    await expect(request(endpoint)).rejects.toThrow();
    await expect(request(receiverUrl)).rejects.toThrow();
  });
});
