// End to end in real headless Chromium: `upcall server` started on its own (the CLI, as a user
// runs it) and a page served from another origin. The page's cross-origin PUT is refused by the
// browser while the bucket has no CORS rule (the preflight gets 403 and no CORS header, so the PUT
// is never sent), and goes through, with its ETag readable, once PutBucketCors allows that origin.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`browser CORS e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}
const BUCKET = 'cors-e2e';
const ACCESS_KEY = { UPCALL_ACCESS_KEY_ID: 'LTAIcorse2e', UPCALL_ACCESS_KEY_SECRET: 'cors-e2e-secret' };

interface CorsClient {
  putBucketACL(bucket: string, acl: string): Promise<unknown>;
  putBucketCORS(bucket: string, rules: Record<string, unknown>[]): Promise<unknown>;
  get(key: string): Promise<{ content: Buffer }>;
  head(key: string): Promise<unknown>;
}
const OSS = createRequire(import.meta.url)('ali-oss') as new (options: Record<string, unknown>) => CorsClient;

/** Runs in the page: a cross-origin PUT, as a web app uploading straight to storage does. */
async function upload(url: string): Promise<{ status: number; etag: string | null } | { error: string }> {
  try {
    const response = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain', 'x-oss-meta-from': 'browser' },
      body: 'uploaded from another origin',
    });
    return { status: response.status, etag: response.headers.get('ETag') };
  } catch (error) {
    return { error: String(error) };
  }
}

describe.skipIf(!haveChromium)(
  'browser uploads to `upcall server` follow bucket CORS (headless Chromium)',
  () => {
    let storage: SpawnedCli;
    let endpoint: string;
    let client: CorsClient;
    let site: Server;
    let siteOrigin: string;
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      storage = await spawnCli(['server', '--port', '0', '--memory', '--bucket', BUCKET], {
        env: ACCESS_KEY,
        ready: /endpoint: (\S+)/,
      });
      endpoint = storage.ready;
      client = new OSS({
        endpoint,
        region: 'oss-cn-hangzhou',
        bucket: BUCKET,
        accessKeyId: ACCESS_KEY.UPCALL_ACCESS_KEY_ID,
        accessKeySecret: ACCESS_KEY.UPCALL_ACCESS_KEY_SECRET,
      });
      // Anyone may write: what is under test is only whether the browser lets the page do it.
      await client.putBucketACL(BUCKET, 'public-read-write');
      site = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>another origin</title>');
      });
      await new Promise<void>((done) => site.listen(0, '127.0.0.1', done));
      siteOrigin = `http://127.0.0.1:${String((site.address() as AddressInfo).port)}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      page = await browser.newPage();
      await page.goto(siteOrigin);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise((done) => site?.close(done));
      storage?.child.kill('SIGTERM');
      await storage?.exited;
    });

    it('refuses the upload while no CORS rule allows the page origin', async () => {
      const result = await page.evaluate(upload, `${endpoint}/${BUCKET}/refused.txt`);
      expect(result).toHaveProperty('error');
      // The preflight failed, so the PUT itself never reached the server.
      await expect(client.head('refused.txt')).rejects.toMatchObject({ status: 404 });
    });

    it('lets the page upload, and read the ETag, after PutBucketCors allows its origin', async () => {
      await client.putBucketCORS(BUCKET, [
        {
          allowedOrigin: siteOrigin,
          allowedMethod: ['PUT', 'GET'],
          allowedHeader: '*',
          exposeHeader: ['ETag'],
          maxAgeSeconds: '1',
        },
      ]);
      const result = await page.evaluate(upload, `${endpoint}/${BUCKET}/allowed.txt`);
      expect(result).toMatchObject({ status: 200 });
      expect(result).toHaveProperty('etag', expect.stringMatching(/^"[0-9A-F]{32}"$/));
      expect((await client.get('allowed.txt')).content.toString()).toBe('uploaded from another origin');
    });

    it('still refuses a page on an origin the rule does not name', async () => {
      const other = await browser.newPage();
      try {
        // Same server, another origin: localhost instead of 127.0.0.1.
        await other.goto(siteOrigin.replace('127.0.0.1', 'localhost'));
        const result = await other.evaluate(upload, `${endpoint}/${BUCKET}/other-origin.txt`);
        expect(result).toHaveProperty('error');
      } finally {
        await other.close();
      }
    });
  },
);
