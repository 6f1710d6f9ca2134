// End to end in real headless Chromium: `upcall dev` (storage server + receiver), the browser
// demo uploads an image with PostObject + callback and with the mobile flow (temporary
// credentials + ali-oss browser build), and the dashboard shows the new rows with thumbnails.
// Then `upcall server` and `upcall receiver` as two separate processes, started as README.md
// ("Running the servers separately") says: the demo page uploads through the receiver's own post
// policy and the dashboard is complete (thumbnails, latency kept across a restart).
// Screenshots land in test-artifacts/ for a human to look at.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { startDev, type DevHandle } from '../../src/cli/commands/dev.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { verifyCommand } from '../../src/cli/commands/verify.ts';
import { runCli } from '../helpers/run-cli.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import { makePng } from './make-png.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`browser e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

/** Runs in the page: the uploads the dashboard chart's bars add up to equal `expected`. */
function chartCountIs(expected: number): boolean {
  const titles = Array.from(document.querySelectorAll('#chart rect title'));
  return titles.reduce((sum, title) => sum + Number.parseInt(title.textContent ?? '0', 10), 0) === expected;
}

/**
 * Starts recording the widths a progress bar is given from now on; the returned function reads
 * them back as percentages, in order.
 */
async function recordProgress(page: Page, selector: string): Promise<() => Promise<number[]>> {
  const widths = await page.evaluateHandle((selector) => {
    const bar = document.querySelector<HTMLElement>(selector) as HTMLElement;
    const seen: string[] = [];
    new MutationObserver(() => seen.push(bar.style.width)).observe(bar, { attributeFilter: ['style'] });
    return seen;
  }, selector);
  return async () =>
    (await widths.jsonValue()).filter((width) => width !== '').map((width) => Number.parseFloat(width));
}

/** Runs `action` with the page's uploads throttled to `bytesPerSecond` (Chromium's DevTools throttling). */
async function withUploadThroughput(
  page: Page,
  bytesPerSecond: number,
  action: () => Promise<void>,
): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const conditions = { offline: false, latency: 0, downloadThroughput: -1 };
  await cdp.send('Network.emulateNetworkConditions', { ...conditions, uploadThroughput: bytesPerSecond });
  try {
    await action();
  } finally {
    await cdp.send('Network.emulateNetworkConditions', { ...conditions, uploadThroughput: -1 });
    await cdp.detach();
  }
}

/** Progress that moved through the upload: ends at 100 %, never goes back, stops on the way. */
function expectGradualProgress(percents: number[]): void {
  expect(percents.at(-1)).toBe(100);
  expect(percents.filter((percent) => percent > 0 && percent < 100).length).toBeGreaterThanOrEqual(2);
  expect(percents).toEqual([...percents].sort((a, b) => a - b));
}

describe.skipIf(!haveChromium)('browser demo and dashboard (headless Chromium)', () => {
  let dataDir: string;
  let dev: DevHandle;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-e2e-'));
    dev = await startDev({
      dataDir,
      port: 0,
      receiverPort: 0,
      host: '127.0.0.1',
      bucket: 'uploads',
      env: {},
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads with PostObject + callback and shows the app server reply, with progress', async () => {
    await page.goto(`${dev.session.receiverUrl}/demo`);
    await page.setInputFiles('#file', {
      name: 'sunset.png',
      mimeType: 'image/png',
      buffer: makePng(640, 400, { grain: true }),
    });
    const progress = await recordProgress(page, '#post-progress');
    // Chromium reports upload progress every 50 ms at most; at 1 MB/s the 0.7 MB form takes long
    // enough for several reports.
    await withUploadThroughput(page, 1_000_000, async () => {
      await page.click('#post-upload');
      await page.waitForSelector('#post-status.ok, #post-status.bad', { timeout: 20_000 });
    });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-postobject.png'), fullPage: true });
    expect(await page.textContent('#post-status')).toContain('the app server replied');
    const reply = JSON.parse((await page.textContent('#post-result')) ?? '') as Record<string, unknown>;
    expect(reply).toHaveProperty('Status', 'OK');
    expectGradualProgress(await progress());
  });

  it('uploads with temporary credentials + ali-oss multipart + callback (mobile flow), with progress', async () => {
    // About 3 MB: ali-oss uploads it in three 1 MiB parts and reports progress after each part
    // (1/4, 2/4, 3/4) and at the end, so the bar must pass through values between 0 and 100 %.
    await page.setInputFiles('#file', {
      name: 'panorama.png',
      mimeType: 'image/png',
      buffer: makePng(1200, 900, { grain: true }),
    });
    const progress = await recordProgress(page, '#sts-progress');
    await page.click('#sts-upload');
    await page.waitForSelector('#sts-status.ok, #sts-status.bad', { timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-mobile-flow.png'), fullPage: true });
    expect(await page.textContent('#sts-status')).toContain('the app server replied');
    expectGradualProgress(await progress());
  });

  it('shows both uploads on the dashboard with thumbnails and variables', async () => {
    await page.goto(`${dev.session.receiverUrl}/dashboard`);
    await page.waitForSelector('#rows tr', { timeout: 10_000 });
    await page.waitForFunction(
      () => {
        const images = Array.from(document.querySelectorAll<HTMLImageElement>('#rows img.thumb'));
        return images.length >= 2 && images.every((img) => img.complete && img.naturalWidth > 0);
      },
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.locator('#rows tr').count()).toBe(2);
    // The receiver measured how long it took to answer each callback.
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('#rows td.latency')).every((td) =>
          /ms$/.test(td.textContent ?? ''),
        ),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.textContent('#rows')).toContain('headless-chromium');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('opens the detail page with the exact callback request and reply', async () => {
    await page.click('#rows tr:first-child');
    await page.waitForFunction(
      () => document.querySelector('#request')?.textContent?.startsWith('POST '),
      undefined,
      {
        timeout: 10_000,
      },
    );
    const request = (await page.textContent('#request')) ?? '';
    expect(request.toLowerCase()).toContain('authorization:');
    expect(request.toLowerCase()).toContain('x-oss-pub-key-url:');
    expect(await page.textContent('#reply')).toContain('OK');
    await page.screenshot({ path: join(ARTIFACTS, 'upload-detail.png'), fullPage: true });
  });

  it('downloads the capture, which `upcall verify` accepts byte for byte', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(dataDir, 'capture.http');
    await download.saveAs(file);
    const run = await runCli(verifyCommand, ['verify', file, '--allow-key-url', dev.session.keyUrl], {
      cwd: dataDir,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('valid: the signature matches');
    expect(run.stdout).toContain('headless-chromium');
  });

  it('updates the open dashboard live: a new upload appears, and the chart counts it, without a reload', async () => {
    await page.goto(`${dev.session.receiverUrl}/dashboard`);
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 2, undefined, {
      timeout: 10_000,
    });
    // The chart shows uploads per minute as bars (a <title> each) and callback latency as points.
    await page.waitForFunction(chartCountIs, 2, { timeout: 10_000 });
    expect(await page.locator('#chart circle').count()).toBeGreaterThan(0);
    // A marker that a reload or navigation would wipe.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

    await writeFile(join(dataDir, 'live.txt'), 'uploaded while the dashboard is open');
    const { endpoint, accessKeyId, accessKeySecret, callbackUrl } = dev.session;
    const put = await runCli(
      putCommand,
      [
        'put',
        'live.txt',
        'oss://uploads/live.txt',
        '--callback-url',
        callbackUrl,
        '--var',
        'device=live-cli',
      ],
      {
        cwd: dataDir,
        env: {
          UPCALL_ENDPOINT: endpoint,
          UPCALL_ACCESS_KEY_ID: accessKeyId,
          UPCALL_ACCESS_KEY_SECRET: accessKeySecret,
        },
      },
    );
    expect(put.stdout).toContain('callback: OK');

    await page.waitForSelector('#rows tr.fresh', { timeout: 10_000 });
    expect(await page.locator('#rows tr').count()).toBe(3);
    expect(await page.textContent('#rows tr:first-child')).toContain('live-cli');
    await page.waitForFunction(chartCountIs, 3, { timeout: 10_000 });
    expect(
      await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
  });
});

describe.skipIf(!haveChromium)(
  'upcall server + upcall receiver as separate processes (headless Chromium)',
  () => {
    // The same pair both processes read (README.md "Running the servers separately").
    const env = {
      UPCALL_ACCESS_KEY_ID: 'LTAIe2eSeparateKey',
      UPCALL_ACCESS_KEY_SECRET: 'e2e-separate-secret',
    };
    let dataDir: string;
    let server: SpawnedCli;
    let receiver: SpawnedCli;
    let endpoint: string;
    let keyUrl: string;
    let origin: string;
    let browser: Browser;
    let page: Page;

    const startReceiver = async (): Promise<SpawnedCli> =>
      spawnCli(
        [
          'receiver',
          '--port',
          '0',
          '--data',
          join(dataDir, 'receiver'),
          '--allow-key-url',
          keyUrl,
          '--storage-endpoint',
          endpoint,
          '--bucket',
          'uploads',
        ],
        { env, ready: /^dashboard: (http:\/\/\S+)\/dashboard$/m },
      );

    beforeAll(async () => {
      await mkdir(ARTIFACTS, { recursive: true });
      dataDir = await mkdtemp(join(tmpdir(), 'upcall-e2e-separate-'));
      server = await spawnCli(
        [
          'server',
          '--port',
          '0',
          '--data',
          join(dataDir, 'data'),
          '--bucket',
          'uploads',
          '--unsafe-no-fsync',
        ],
        { env, ready: /^endpoint: (http:\/\/\S+)$/m },
      );
      endpoint = server.ready;
      keyUrl = /^callback key URL: (\S+)$/m.exec(server.stdout())![1]!;
      receiver = await startReceiver();
      origin = receiver.ready;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      for (const child of [receiver, server]) {
        child?.child.kill('SIGTERM');
        await child?.exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    });

    it('serves its dashboard at /, with an icon, and an empty chart that says so', async () => {
      expect(receiver.stdout()).toContain(`credentials: ${origin}/sts and ${origin}/api/post-policy`);
      await page.goto(origin);
      expect(new URL(page.url()).pathname).toBe('/dashboard');
      await page.waitForSelector('#live:not(.stale)');
      await page.waitForFunction(() => document.querySelector('#chart text')?.textContent !== undefined);
      expect(await page.textContent('#chart text')).toBe('no uploads in the last 30 min');
      const icon = await fetch(`${origin}/favicon.ico`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    });

    it('uploads from the demo page with PostObject + callback, without CORS on the storage server', async () => {
      await page.goto(`${origin}/demo`);
      await page.setInputFiles('#file', {
        name: 'a-rather-long-file-name-for-the-dashboard-column-to-wrap-between-its-words.png',
        mimeType: 'image/png',
        buffer: makePng(320, 200),
      });
      await page.click('#post-upload');
      await page.waitForSelector('#post-status.ok, #post-status.bad', { timeout: 30_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'separate-demo-postobject.png'), fullPage: true });
      expect(await page.textContent('#post-status')).toContain('the app server replied');
      const reply = JSON.parse((await page.textContent('#post-result')) ?? '') as {
        Status: string;
        id: number;
      };
      expect(reply.Status).toBe('OK');
      // The success links to the record on the dashboard.
      expect(await page.getAttribute('#post-status a', 'href')).toBe(`/dashboard/uploads/${reply.id}`);
    });

    it('says what to fix when this receiver refuses the callback (203): a key URL it does not trust', async () => {
      const wrong = await spawnCli(
        [
          'receiver',
          '--port',
          '0',
          '--data',
          join(dataDir, 'wrong-receiver'),
          '--allow-key-url',
          'http://127.0.0.1:1/callback_pub_key_v1.pem',
          '--storage-endpoint',
          endpoint,
          '--bucket',
          'uploads',
        ],
        { env, ready: /^dashboard: (http:\/\/\S+)\/dashboard$/m },
      );
      try {
        await page.goto(`${wrong.ready}/demo`);
        await page.setInputFiles('#file', {
          name: 'refused.txt',
          mimeType: 'text/plain',
          buffer: Buffer.from('x'),
        });
        await page.click('#post-upload');
        await page.waitForSelector('#post-status.ok, #post-status.bad', { timeout: 30_000 });
        const status = (await page.textContent('#post-status')) ?? '';
        expect(status).toContain('203 CallbackFailed');
        expect(status).toContain('--allow-key-url');
      } finally {
        wrong.child.kill('SIGTERM');
        await wrong.exited;
      }
    });

    it('explains that the mobile flow (ali-oss) needs CORS from the storage server', async () => {
      await page.goto(`${origin}/demo`);
      await page.setInputFiles('#file', {
        name: 'mobile.png',
        mimeType: 'image/png',
        buffer: makePng(32, 32),
      });
      await page.click('#sts-upload');
      await page.waitForSelector('#sts-status.ok, #sts-status.bad', { timeout: 30_000 });
      expect(await page.textContent('#sts-status')).toContain('CORS');
    });

    it('shows the upload with its thumbnail and latency; a forged callback adds no bytes; latency survives a restart', async () => {
      // A refused callback claiming a huge size: recorded as refused, not counted as uploaded bytes.
      const forged = await fetch(`${origin}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'bucket=uploads&object=forged.bin&size=999999999999',
      });
      expect(forged.status).toBe(400);
      const dashboard = async (): Promise<void> => {
        await page.goto(`${origin}/dashboard`);
        await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 2, undefined, {
          timeout: 10_000,
        });
        await page.waitForFunction(
          () => {
            const img = document.querySelector<HTMLImageElement>('#rows img.thumb');
            return img !== null && img.complete && img.naturalWidth === 320;
          },
          undefined,
          { timeout: 10_000 },
        );
        expect(await page.textContent('#rows tr:has(img.thumb) td.latency')).toMatch(/^\d+(\.\d)? ms$/);
        expect(await page.textContent('#stat-bytes')).not.toMatch(/GiB|MiB/);
        // The long key wraps between its segments.
        expect(await page.locator('#rows tr:has(img.thumb) .object wbr').count()).toBeGreaterThan(5);
      };
      await dashboard();
      await page.screenshot({ path: join(ARTIFACTS, 'separate-dashboard.png'), fullPage: true });

      receiver.child.kill('SIGTERM');
      await receiver.exited;
      receiver = await startReceiver();
      origin = receiver.ready;
      await dashboard();
    });
  },
);
