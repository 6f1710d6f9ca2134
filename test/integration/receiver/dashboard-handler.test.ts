// The dashboard handler over a real socket: pages, assets, the demo config, presigned previews,
// and that nothing outside its fixed file list can be read.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler } from '../../../src/receiver/dashboard/dashboard-handler.ts';
import { canonicalizedResource } from '../../../src/shared/canonical-resource.ts';
import { v1StringToSign, verifyV1Signature } from '../../../src/shared/signature-v1.ts';

let server: Server;
let origin: string;
const fixedNow = new Date('2026-01-02T03:04:05Z');

beforeAll(async () => {
  const handler = createDashboardHandler({
    storage: {
      endpoint: 'http://127.0.0.1:9',
      bucket: 'uploads',
      accessKeyId: 'ak',
      accessKeySecret: 'secret',
    },
    callbackUrl: 'http://127.0.0.1:8/oss/callback',
    now: () => fixedNow,
  });
  server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(418).end('not mine');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function get(path: string): Promise<{ status: number; type: string; text: string; location?: string }> {
  const res = await request(`${origin}${path}`);
  const location = res.headers['location'];
  return {
    status: res.statusCode,
    type: String(res.headers['content-type'] ?? ''),
    text: await res.body.text(),
    ...(typeof location === 'string' ? { location } : {}),
  };
}

describe('dashboard handler', () => {
  it('serves the three pages as HTML', async () => {
    for (const [path, marker] of [
      ['/dashboard', 'id="rows"'],
      ['/dashboard/uploads/42', 'id="request"'],
      ['/demo', 'id="post-upload"'],
    ]) {
      const page = await get(path!);
      expect(page.status).toBe(200);
      expect(page.type).toContain('text/html');
      expect(page.text).toContain(marker);
    }
  });

  it('serves the listed assets and nothing else', async () => {
    const css = await get('/dashboard/static/style.css');
    expect(css.status).toBe(200);
    expect(css.type).toContain('text/css');
    expect((await get('/dashboard/static/dashboard.js')).type).toContain('javascript');
    expect((await get('/dashboard/static/dashboard-handler.ts')).status).toBe(404);
    expect((await get('/dashboard/static/..%2Fdashboard-handler.ts')).status).toBe(404);
    const dotted = await get('/dashboard/static/%2e%2e/dashboard-handler.ts');
    expect(dotted.status).not.toBe(200);
    expect(dotted.text).not.toContain('createDashboardHandler');
  });

  it('serves the ali-oss browser build', async () => {
    const sdk = await get('/vendor/aliyun-oss-sdk.min.js');
    expect(sdk.status).toBe(200);
    expect(sdk.text.length).toBeGreaterThan(100_000);
  });

  it('gives the demo its endpoint and callback URL but never the secret', async () => {
    const config = await get('/dashboard/config.json');
    expect(JSON.parse(config.text)).toMatchObject({
      endpoint: 'http://127.0.0.1:9',
      bucket: 'uploads',
      callbackUrl: 'http://127.0.0.1:8/oss/callback',
    });
    expect(config.text).not.toContain('secret');
  });

  it('redirects previews to a presigned GET that verifies with the storage secret', async () => {
    const preview = await get('/dashboard/object?bucket=uploads&key=photos%2Fcat%20one.jpg');
    expect(preview.status).toBe(302);
    const location = new URL(preview.location!);
    expect(location.pathname).toBe('/uploads/photos/cat%20one.jpg');
    expect(location.searchParams.get('OSSAccessKeyId')).toBe('ak');
    const expires = location.searchParams.get('Expires')!;
    expect(Number(expires)).toBe(fixedNow.getTime() / 1000 + 300);
    const stringToSign = v1StringToSign({
      method: 'GET',
      headers: {},
      date: expires,
      canonicalizedResource: canonicalizedResource({ bucket: 'uploads', key: 'photos/cat one.jpg' }, []),
    });
    expect(verifyV1Signature('secret', stringToSign, location.searchParams.get('Signature')!)).toBe(true);
  });

  it('leaves other paths and methods to the app', async () => {
    expect((await get('/api/uploads')).status).toBe(418);
    const post = await request(`${origin}/dashboard`, { method: 'POST', body: 'x' });
    expect(post.statusCode).toBe(418);
    await post.body.dump();
  });
});
