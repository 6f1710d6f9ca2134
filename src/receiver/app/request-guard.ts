/**
 * Who may use the receiver app besides OSS (issue 14): a Host check against DNS rebinding, and an
 * optional API token for the records API and the dashboard.
 *
 * - **Host**: a web page on `evil.example` can make its own name resolve to 127.0.0.1 and then
 *   read this receiver as same-origin. Every request but the callback must name a host the
 *   receiver serves: `localhost`, an IP address literal (a client that dialled an address cannot
 *   be rebound), or a name in `allowedHosts`. Others get 403.
 * - **Token**: with `apiToken` set, everything but the callback route, the credential endpoints
 *   (`/sts`, `/api/sts`, `/api/post-policy`: an app's own clients call them, and
 *   `credentials.user` decides who they are), the health probes (`/_upcall/health/*`) and the
 *   pages' static files needs
 *   `Authorization: Bearer <token>` or the cookie the dashboard's sign-in page sets
 *   (`#token=` in the dashboard URL, or pasted). Deny by default: a route added later is covered.
 * - The callback route is checked by neither: OSS signs it, and OSS calls whatever name the
 *   callback URL has.
 *
 * Invariant: the token is compared in constant time (over SHA-256 digests, so lengths leak nothing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const TOKEN_COOKIE = 'upcall_receiver_token';

/** Paths anyone may fetch (with a served Host): the credential endpoints and the pages' assets. */
const OPEN_PATHS = new Set([
  '/sts',
  '/api/sts',
  '/api/post-policy',
  '/vendor/aliyun-oss-sdk.min.js',
  '/favicon.ico',
  // Probes carry no token (receiver-observability.ts); /_upcall/metrics stays behind it.
  '/_upcall/health/live',
  '/_upcall/health/ready',
]);
const OPEN_PREFIXES = ['/dashboard/static/'];
/** Pages a browser navigates to: without the token they answer the sign-in page, not JSON. */
const PAGE_PATHS = /^\/(?:|dashboard\/?|dashboard\/uploads\/[^/]+|demo\/?)$/;

export interface RequestGuardOptions {
  /** Where OSS posts callbacks: never checked. */
  callbackPath: string;
  /** Required on the API and dashboard when set. */
  apiToken?: string;
  /** The address the server binds; a name (not a wildcard) is served too. */
  bindHost: string;
  /** More host names the receiver serves (its public names); `*` turns the Host check off. */
  allowedHosts?: readonly string[];
}

/** localhost and the loopback addresses: the only binds that need no token. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), lowercased, no trailing dot. */
export function hostNameOf(header: string): string | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header.trim());
  if (!match) return undefined;
  return match[1]!
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

export function installRequestGuard(app: FastifyInstance, options: RequestGuardOptions): void {
  const anyHost = options.allowedHosts?.includes('*') === true;
  const served = new Set(['localhost', ...(options.allowedHosts ?? []).map((h) => hostNameOf(h) ?? h)]);
  const bind = hostNameOf(options.bindHost);
  if (bind !== undefined && isIP(bind) === 0) served.add(bind);
  const expected = options.apiToken === undefined ? undefined : digest(options.apiToken);

  const isServed = (header: string | undefined): boolean => {
    if (anyHost) return true;
    const name = header === undefined ? undefined : hostNameOf(header);
    return name !== undefined && (isIP(name) !== 0 || served.has(name));
  };

  const hasToken = (request: FastifyRequest): boolean => {
    if (expected === undefined) return true;
    const auth = request.headers.authorization;
    const bearer = auth === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
    const given = bearer ?? cookie(request.headers.cookie, TOKEN_COOKIE);
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };

  app.addHook('onRequest', async (request, reply) => {
    const path = (request.raw.url ?? '/').split('?', 1)[0]!;
    if (path === options.callbackPath || path === `${options.callbackPath}/`) return;
    if (!isServed(request.headers.host)) {
      return refuse(reply, 403, {
        error: 'Forbidden',
        message: `Host ${JSON.stringify(request.headers.host ?? '')} is not one this receiver serves; add its name to allowedHosts (upcall receiver --allowed-host).`,
      });
    }
    if (OPEN_PATHS.has(path) || OPEN_PREFIXES.some((p) => path.startsWith(p)) || hasToken(request)) return;
    if (PAGE_PATHS.test(path) && request.method === 'GET') {
      return reply
        .code(401)
        .header('cache-control', 'no-store')
        .header('content-type', 'text/html; charset=utf-8')
        .send(SIGN_IN_PAGE);
    }
    return refuse(reply, 401, {
      error: 'Unauthorized',
      message: 'This receiver requires its API token: send Authorization: Bearer <token>.',
    });
  });
}

function refuse(reply: FastifyReply, status: number, body: { error: string; message: string }): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="upcall receiver"');
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * The dashboard's sign-in: takes the token from the URL fragment (never sent to the server, so
 * it stays out of logs) or from the form, keeps it in a same-site cookie so the pages' fetches and
 * thumbnails carry it, and reloads. Inline: it must work before any authenticated asset loads.
 */
const SIGN_IN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>upcall receiver: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;margin:4rem auto;max-width:28rem;color:#1d2430}
input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:.75rem;padding:.5rem 1rem;font:inherit}
.bad{color:#b42318}</style></head>
<body>
<h1>upcall receiver</h1>
<p>This receiver requires its API token (printed at start; <code>UPCALL_RECEIVER_TOKEN</code>).</p>
<form id="sign-in"><label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Open the dashboard</button></form>
<p id="refused" class="bad" hidden>That token was refused.</p>
<script>
(function () {
  var name = '${TOKEN_COOKIE}';
  function keep(token) {
    document.cookie = name + '=' + encodeURIComponent(token) + '; Path=/; SameSite=Strict' +
      (location.protocol === 'https:' ? '; Secure' : '');
    location.replace(location.pathname + location.search);
  }
  var fromUrl = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  var kept = document.cookie.split(';').map(function (c) { return c.trim(); })
    .filter(function (c) { return c.indexOf(name + '=') === 0; })
    .map(function (c) { return decodeURIComponent(c.slice(name.length + 1)); })[0];
  if (fromUrl && decodeURIComponent(fromUrl[1]) !== kept) return keep(decodeURIComponent(fromUrl[1]));
  if (kept !== undefined) document.getElementById('refused').hidden = false;
  document.getElementById('sign-in').addEventListener('submit', function (event) {
    event.preventDefault();
    keep(document.getElementById('token').value.trim());
  });
})();
</script>
</body>
</html>
`;
