/**
 * Who may use the receiver app besides OSS (issue 14): with an API token, the records API and the
 * dashboard answer only to it (Bearer or the sign-in cookie) while the callback and credential
 * endpoints stay open; a request naming a host the receiver does not serve (the DNS-rebinding
 * shape) is refused on everything but the callback; a public bind without a token is refused.
 * Real sockets, raw requests with the Host header as a browser would send it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev } from '../../../src/cli/commands/dev.ts';
import {
  createReceiver,
  type Receiver,
  type ReceiverOptions,
} from '../../../src/receiver/app/create-receiver.ts';
import { TOKEN_COOKIE } from '../../../src/receiver/app/request-guard.ts';
import { mountDashboard } from '../../../src/receiver/dashboard/mount-dashboard.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';

const TOKEN = 'a-test-token-0123456789';
let keys: KeyServer;
let signer: CallbackSigner;
let root: string;
let n = 0;

beforeAll(async () => {
  keys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: keys.keyUrl });
  keys.mode = { kind: 'pem', pem: signer.publicKeyPem };
  root = await mkdtemp(join(tmpdir(), 'upcall-receiver-access-'));
});
afterAll(async () => {
  await keys.close();
  await rm(root, { recursive: true, force: true });
});

async function withReceiver(
  options: Partial<ReceiverOptions>,
  run: (origin: string, receiver: Receiver) => Promise<void>,
): Promise<void> {
  const receiver = await createReceiver({
    dataDir: join(root, `r${n++}`),
    keyUrlAllowlist: [`${keys.origin}/`],
    credentials: {
      accessKeyId: 'root-id',
      accessKeySecret: 'root-secret',
      bucket: 'photos',
      endpoint: 'http://127.0.0.1:9',
    },
    routes: (app) => mountDashboard(app, {}),
    ...options,
  });
  try {
    await run(await receiver.listen(), receiver);
  } finally {
    await receiver.close();
  }
}

async function signedCallback(origin: string, headers: Record<string, string> = {}) {
  const body = Buffer.from('object=a.txt&size=1');
  return sendRaw(origin, {
    target: '/callback',
    headers: { ...signer.headers('/callback', body), ...headers },
    body,
  });
}

const get = (origin: string, target: string, headers: Record<string, string> = {}) =>
  sendRaw(origin, { method: 'GET', target, headers });

describe('receiver API token', () => {
  it('refuses the records API and dashboard data without the token, and accepts Bearer or the cookie', async () => {
    await withReceiver({ apiToken: TOKEN }, async (origin) => {
      expect((await signedCallback(origin)).status).toBe(200);

      const bare = await get(origin, '/api/uploads');
      expect(bare.status).toBe(401);
      expect(bare.json).toMatchObject({ error: 'Unauthorized' });
      expect(bare.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await get(origin, '/api/uploads/1')).status).toBe(401);
      expect((await get(origin, '/api/uploads', { authorization: 'Bearer wrong-token' })).status).toBe(401);
      expect((await get(origin, '/dashboard/config.json')).status).toBe(401);
      expect((await get(origin, '/dashboard/object?bucket=b&key=k')).status).toBe(401);

      const bearer = await get(origin, '/api/uploads', { authorization: `Bearer ${TOKEN}` });
      expect(bearer.status).toBe(200);
      expect((bearer.json as { uploads: unknown[] }).uploads).toHaveLength(1);
      const viaCookie = await get(origin, '/api/uploads/1', {
        cookie: `theme=dark; ${TOKEN_COOKIE}=${encodeURIComponent(TOKEN)}`,
      });
      expect(viaCookie.status).toBe(200);
    });
  });

  it('answers the dashboard page with a sign-in page, and keeps the callback, /sts and static files open', async () => {
    await withReceiver({ apiToken: TOKEN }, async (origin) => {
      const page = await get(origin, '/dashboard');
      expect(page.status).toBe(401);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain(TOKEN_COOKIE);
      expect(page.text).not.toContain(TOKEN);
      const signedIn = await get(origin, '/dashboard', { cookie: `${TOKEN_COOKIE}=${TOKEN}` });
      expect(signedIn.status).toBe(200);
      expect(signedIn.text).not.toContain('sign-in');

      expect((await get(origin, '/dashboard/static/style.css')).status).toBe(200);
      expect((await get(origin, '/sts?user=alice')).status).toBe(200);
      expect((await signedCallback(origin)).status).toBe(200);
    });
  });

  it('without a token configured, the API stays open on loopback', async () => {
    await withReceiver({}, async (origin) => {
      expect((await get(origin, '/api/uploads')).status).toBe(200);
    });
  });

  it('refuses to bind a non-loopback host without a token, unless told to', async () => {
    await expect(createReceiver({ dataDir: join(root, 'public'), host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /apiToken/,
    );
    await withReceiver({ host: '0.0.0.0', insecureNoToken: true }, async (origin) => {
      expect((await get(origin, '/api/uploads')).status).toBe(200);
    });
    await withReceiver({ host: '0.0.0.0', apiToken: TOKEN }, async (origin) => {
      expect((await get(origin, '/api/uploads')).status).toBe(401);
    });
  });
});

describe('receiver Host check', () => {
  it('refuses /sts, the API and the dashboard for a Host it does not serve; the callback still works', async () => {
    await withReceiver({}, async (origin) => {
      const port = new URL(origin).port;
      for (const target of [
        '/sts?user=alice',
        '/api/sts?user=alice',
        '/api/post-policy',
        '/api/uploads',
        '/dashboard',
      ]) {
        const res = await get(origin, target, { host: `evil.example:${port}` });
        expect(res.status, target).toBe(403);
        expect(res.json, target).toMatchObject({ error: 'Forbidden' });
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST.:${port}`]) {
        expect((await get(origin, '/sts?user=alice', { host })).status, host).toBe(200);
      }
      // OSS calls whatever name the callback URL has; the signature is the check there.
      expect((await signedCallback(origin, { host: `evil.example:${port}` })).status).toBe(200);
    });
  });

  it('serves the names given in allowedHosts', async () => {
    await withReceiver({ allowedHosts: ['uploads.example.com'] }, async (origin) => {
      expect((await get(origin, '/sts?user=a', { host: 'uploads.example.com' })).status).toBe(200);
      expect((await get(origin, '/sts?user=a', { host: 'uploads.example.com.evil.example' })).status).toBe(
        403,
      );
    });
  });

  it('upcall dev: /sts refuses a foreign Host', { timeout: 60_000 }, async () => {
    const dev = await startDev({
      dataDir: join(root, 'dev'),
      port: 0,
      receiverPort: 0,
      host: '127.0.0.1',
      bucket: 'uploads',
      env: {},
    });
    try {
      const origin = dev.session.receiverUrl;
      const port = new URL(origin).port;
      expect((await get(origin, '/sts', { host: `evil.example:${port}` })).status).toBe(403);
      expect((await get(origin, '/sts', { host: `localhost:${port}` })).status).toBe(200);
    } finally {
      await dev.close();
    }
  });

  it(
    'upcall dev --host 0.0.0.0: the receiver API needs the generated token, printed with the dashboard link',
    { timeout: 60_000 },
    async () => {
      const dev = await startDev({
        dataDir: join(root, 'dev-public'),
        port: 0,
        receiverPort: 0,
        host: '0.0.0.0',
        bucket: 'uploads',
        env: {},
      });
      try {
        const token = /^ {2}Receiver API token (\S+)/m.exec(dev.banner)?.[1];
        expect(token).toMatch(/^[\w-]{32}$/);
        expect(dev.session.dashboardUrl).toContain(`#token=${token}`);
        const origin = dev.session.receiverUrl;
        expect((await get(origin, '/api/uploads')).status).toBe(401);
        expect((await get(origin, '/api/uploads', { authorization: `Bearer ${token}` })).status).toBe(200);
      } finally {
        await dev.close();
      }
    },
  );
});
