/**
 * Serves the receiver's dashboard (uploads table, upload detail, browser demo) and what those
 * pages need besides the receiver's REST API (`/api/uploads`, `/api/uploads/:id`, `/sts`,
 * `/api/post-policy`, which the receiver app serves itself):
 *
 *   GET /                            302 to /dashboard (the receiver's home is its dashboard)
 *   GET /favicon.ico                 the pages' icon (SVG)
 *   GET /dashboard                   uploads table (live: the page polls /api/uploads)
 *   GET /dashboard/uploads/:id       one upload: facts, preview, exact callback request and reply
 *   GET /demo                        browser demo (PostObject + policy; STS + ali-oss)
 *   GET /dashboard/static/<file>     the pages' CSS and JS
 *   GET /dashboard/config.json       endpoint, bucket, region and callback URL for the demo
 *   GET /dashboard/object?bucket&key 302 to a short-lived presigned GET (thumbnails, previews)
 *   GET /vendor/aliyun-oss-sdk.min.js  the ali-oss browser build from node_modules
 *
 * A plain node:http handler that returns false for paths it does not own, so any server
 * (node:http, Fastify via `reply.hijack()`, Express) can mount it in one line. Invariants: only
 * files of the fixed list below are ever read (no path from the URL reaches the file system);
 * presigned URLs are GET-only and expire after five minutes; the storage secret never reaches the
 * browser.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { encodeQuery, presignV1 } from '../../shared/presigned-url.ts';

export interface DashboardStorage {
  /** The storage server as the *browser* reaches it, e.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  /** Default bucket for the demo's ali-oss upload. */
  bucket: string;
  region?: string;
  /** Used to presign thumbnail URLs; never sent to the browser. */
  accessKeyId: string;
  accessKeySecret: string;
}

export interface DashboardOptions {
  /** Enables thumbnails, previews and the demo's mobile flow. */
  storage?: DashboardStorage;
  /** The callback URL the demo's ali-oss upload asks for (this receiver's callback route). */
  callbackUrl?: string;
  /** Key prefix for demo uploads, e.g. `demo/`. */
  demoPrefix?: string;
  now?: () => Date;
}

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const STATIC_FILES: Readonly<Record<string, string>> = {
  'style.css': 'text/css; charset=utf-8',
  'records.js': 'text/javascript; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'upload.js': 'text/javascript; charset=utf-8',
  'demo.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const HTML = 'text/html; charset=utf-8';
const THUMBNAIL_URL_TTL_SECONDS = 300;

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const dir = new URL('./static/', import.meta.url);
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(STATIC_FILES)) {
    assets.set(name, { type, body: readFileSync(new URL(name, dir)) });
  }
  for (const name of ['dashboard.html', 'upload.html', 'demo.html']) {
    assets.set(name, { type: HTML, body: readFileSync(new URL(name, dir)) });
  }
  return assets;
}

let sdk: Asset | null | undefined;

/** What the demo page and its script say when the ali-oss browser build is missing. */
export const ALI_OSS_MISSING =
  'The ali-oss browser build is not available, so the demo cannot upload with ali-oss. ' +
  'Install it where upcall runs (npm install ali-oss) and restart; the PostObject upload works without it.\n';

/**
 * The ali-oss browser build the demo page loads; null when there is none. The build (scripts/build.js)
 * copies it beside this module into `vendor/`, so the published package serves it without depending
 * on ali-oss; a checkout running the sources takes it from the ali-oss devDependency instead.
 */
function aliOssBrowserBuild(): Asset | null {
  if (sdk !== undefined) return sdk;
  const candidates = [
    () => fileURLToPath(new URL('./vendor/aliyun-oss-sdk.min.js', import.meta.url)),
    () => createRequire(import.meta.url).resolve('ali-oss/dist/aliyun-oss-sdk.min.js'),
  ];
  sdk = null;
  for (const candidate of candidates) {
    try {
      sdk = { type: 'text/javascript; charset=utf-8', body: readFileSync(candidate()) };
      break;
    } catch {
      // Not there: try the next place.
    }
  }
  return sdk;
}

export function createDashboardHandler(options: DashboardOptions = {}): DashboardHandler {
  const assets = loadAssets();
  const now = options.now ?? (() => new Date());

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    cache = false,
  ): void => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, {
      'content-type': type,
      'content-length': String(bytes.byteLength),
      'cache-control': cache ? 'public, max-age=3600' : 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(bytes);
  };
  const asset = (res: ServerResponse, name: string): void => {
    const found = assets.get(name);
    if (found) send(res, 200, found.type, found.body);
    else send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    const path = url.pathname;
    if (path === '/') {
      res.writeHead(302, { location: '/dashboard', 'content-length': '0', 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    if (path === '/favicon.ico') {
      asset(res, 'favicon.svg');
      return true;
    }
    if (path === '/dashboard' || path === '/dashboard/') {
      asset(res, 'dashboard.html');
      return true;
    }
    if (/^\/dashboard\/uploads\/[^/]+$/.test(path)) {
      asset(res, 'upload.html');
      return true;
    }
    if (path === '/demo' || path === '/demo/') {
      asset(res, 'demo.html');
      return true;
    }
    if (path.startsWith('/dashboard/static/')) {
      const name = path.slice('/dashboard/static/'.length);
      if (Object.hasOwn(STATIC_FILES, name)) asset(res, name);
      else send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return true;
    }
    if (path === '/dashboard/config.json') {
      const storage = options.storage;
      const config = {
        endpoint: storage?.endpoint ?? null,
        bucket: storage?.bucket ?? null,
        region: storage?.region ?? 'oss-cn-hangzhou',
        callbackUrl: options.callbackUrl ?? null,
        prefix: options.demoPrefix ?? 'demo/',
      };
      send(res, 200, 'application/json', JSON.stringify(config));
      return true;
    }
    if (path === '/dashboard/object') {
      const bucket = url.searchParams.get('bucket');
      const key = url.searchParams.get('key');
      const storage = options.storage;
      if (storage === undefined || !bucket || !key) {
        send(res, 404, 'text/plain; charset=utf-8', 'No storage configured for previews\n');
        return true;
      }
      const pairs = presignV1({
        method: 'GET',
        bucket,
        key,
        credentials: { accessKeyId: storage.accessKeyId, accessKeySecret: storage.accessKeySecret },
        expires: Math.floor(now().getTime() / 1000) + THUMBNAIL_URL_TTL_SECONDS,
      });
      const objectPath = encodeURIComponent(key).replace(/%2F/g, '/');
      res.writeHead(302, {
        location: `${storage.endpoint}/${bucket}/${objectPath}?${encodeQuery(pairs)}`,
        'cache-control': 'no-store',
        'content-length': '0',
      });
      res.end();
      return true;
    }
    if (path === '/vendor/aliyun-oss-sdk.min.js') {
      const build = aliOssBrowserBuild();
      if (build) send(res, 200, build.type, build.body, true);
      else send(res, 404, 'text/plain; charset=utf-8', ALI_OSS_MISSING);
      return true;
    }
    return false;
  };
}
