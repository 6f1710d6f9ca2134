// The standalone pieces of `upcall dev`: CORS for browser pages in front of a real storage
// server, the generated-once access key, and the banner's snippets.
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInvocation } from '../../src/cli/cli-invocation.ts';
import { devBanner } from '../../src/cli/dev-banner.ts';
import { DEV_BUCKET_CORS } from '../../src/cli/dev-cors.ts';
import { CREDENTIALS_FILE, devAccessKey } from '../../src/cli/dev-credentials.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-dev-pieces-'));
  server = await startTestServer();
  await server.store.putBucketSetting(server.bucket, 'cors', DEV_BUCKET_CORS);
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dev's bucket CORS rule", () => {
  it('answers a preflight for a signed PUT from another origin', async () => {
    const res = await request(`${server.url}/${server.bucket}/a.txt`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:9100',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,x-oss-date,x-oss-security-token',
      },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('http://127.0.0.1:9100');
    expect(res.headers['access-control-allow-methods']).toContain('PUT');
    expect(res.headers['access-control-allow-headers']).toBe(
      'authorization, x-oss-date, x-oss-security-token',
    );
  });

  it('adds the CORS headers to OSS replies, errors included, and exposes ETag', async () => {
    const res = await request(`${server.url}/${server.bucket}/missing.txt`, {
      headers: { origin: 'http://localhost:3000' },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(403); // unsigned request to a private bucket
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-expose-headers']).toContain('ETag');
    expect(res.headers['x-oss-request-id']).toBeDefined();
  });

  it('leaves requests without Origin untouched', async () => {
    const res = await request(`${server.url}/${server.bucket}/missing.txt`);
    await res.body.dump();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('dev access key', () => {
  it('is generated once, kept 0600, and reused', async () => {
    const first = await devAccessKey(dir, {});
    expect(first.source).toBe('generated');
    expect(first.accessKeyId).toMatch(/^LTAI[0-9A-F]{20}$/);
    expect((await stat(join(dir, CREDENTIALS_FILE))).mode & 0o777).toBe(0o600);
    const again = await devAccessKey(dir, {});
    expect(again).toEqual({ ...first, source: 'stored' });
    expect(JSON.parse(await readFile(join(dir, CREDENTIALS_FILE), 'utf8'))).toMatchObject({
      accessKeyId: first.accessKeyId,
    });
  });

  it('prefers UPCALL_ACCESS_KEY_ID/SECRET', async () => {
    const key = await devAccessKey(dir, { UPCALL_ACCESS_KEY_ID: 'id', UPCALL_ACCESS_KEY_SECRET: 'secret' });
    expect(key).toEqual({ accessKeyId: 'id', accessKeySecret: 'secret', source: 'env' });
  });
});

describe('dev banner', () => {
  it('names everything a newcomer needs, with the same values in every snippet', () => {
    const banner = devBanner({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'uploads',
      accessKeyId: 'LTAIX',
      accessKeySecret: 'S3CRET',
      callbackUrl: 'http://127.0.0.1:9100/oss/callback',
      dashboardUrl: 'http://127.0.0.1:9100/dashboard',
      receiverUrl: 'http://127.0.0.1:9100',
      keyUrl: 'http://127.0.0.1:9000/callback_pub_key_v1.pem',
      pid: 1,
      dataDir: '.upcall',
      region: 'oss-cn-hangzhou',
      credentialSource: 'generated',
      cli: 'npx upcall',
    });
    expect(banner).toContain("endpoint: 'http://127.0.0.1:9000'");
    expect(banner).toContain("accessKeySecret: 'S3CRET'");
    expect(banner).toContain("url: 'http://127.0.0.1:9100/oss/callback'");
    expect(banner).toContain(
      'npx upcall put package.json oss://uploads/ --callback-url http://127.0.0.1:9100/oss/callback',
    );
    expect(banner).toContain('http://127.0.0.1:9100/dashboard');
    expect(banner).toContain('${x:device}');
  });
});

describe('the CLI the banner tells the user to run', () => {
  const repo = join(import.meta.dirname, '..', '..');
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'upcall-cli-invocation-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is npx upcall when the package is installed in a node_modules folder', async () => {
    const installed = join(scratch, 'project', 'node_modules', 'upcall');
    await mkdir(join(installed, 'bin'), { recursive: true });
    expect(cliInvocation(join(scratch, 'project'), installed)).toBe('npx upcall');
  });

  it('is node bin/upcall.js at the root of a checkout, or where bin/ links to it', async () => {
    expect(cliInvocation(repo)).toBe('node bin/upcall.js');
    const linked = join(scratch, 'linked');
    await mkdir(linked);
    await symlink(join(repo, 'bin'), join(linked, 'bin'));
    expect(cliInvocation(linked)).toBe('node bin/upcall.js');
  });

  it('names the checkout bin by its absolute path anywhere else', () => {
    expect(cliInvocation(scratch)).toMatch(/^node \/\S+\/bin\/upcall\.js$/);
  });
});
