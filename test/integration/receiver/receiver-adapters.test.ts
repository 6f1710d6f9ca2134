import { createServer } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossCallbackMiddleware, createPublicKeyResolver, type VerifiedCallback } from 'upcall-verify';
import {
  ADAPTER_KINDS,
  listen,
  startAdapterServer,
  type RunningServer,
} from '../../helpers/receiver-adapter-servers.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';
import { OSS_PUBLIC_KEY_PEM, REAL_VECTORS, vectorHeaders } from '../../helpers/receiver-vectors.ts';

/** Sends bytes on a raw socket and returns the whole reply text (for framing checks). */
async function rawExchange(origin: string, request: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.connect(Number(port), hostname, () => socket.end(request));
  });
}

let ossKeys: KeyServer;
let appKeys: KeyServer;
let signer: CallbackSigner;

beforeAll(async () => {
  ossKeys = await startKeyServer({ kind: 'pem', pem: OSS_PUBLIC_KEY_PEM });
  appKeys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: appKeys.keyUrl });
  appKeys.mode = { kind: 'pem', pem: signer.publicKeyPem };
});
afterAll(async () => {
  await ossKeys.close();
  await appKeys.close();
});

describe.each(ADAPTER_KINDS)('%s adapter on a real socket', (kind) => {
  let server: RunningServer;
  const seen: VerifiedCallback[] = [];
  const rejected: string[] = [];

  beforeAll(async () => {
    const resolver = createPublicKeyResolver({
      keyUrlAllowlist: [`${ossKeys.origin}/`, `${appKeys.origin}/`],
    });
    server = await startAdapterServer(kind, {
      resolver,
      maxBodyBytes: 4096,
      paths: ['/oss-callback', ...REAL_VECTORS.map((v) => v.target.split('?')[0]!)],
      onVerified: (callback) => {
        seen.push(callback);
        return callback.vars['x:reply'] === 'custom'
          ? { Status: 'OK', object: callback.object ?? null, size: callback.size ?? null }
          : { Status: 'OK' };
      },
      onRejected: (error) => rejected.push(error.reason),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('accepts the three real OSS-signed vectors (key fetched from an allowlisted URL)', async () => {
    for (const vector of REAL_VECTORS) {
      const res = await sendRaw(server.origin, {
        target: vector.target,
        headers: vectorHeaders(vector, ossKeys.keyUrl),
        body: vector.body,
      });
      expect(res.status, vector.name).toBe(200);
      expect(res.json).toEqual({ Status: 'OK' });
    }
    expect(seen.map((v) => v.target)).toEqual(REAL_VECTORS.map((v) => v.target));
  });

  it('answers 200 JSON with Content-Length (never chunked) for a verified callback', async () => {
    const body = Buffer.from('object=photos%2Fcat.jpg&size=108904&mimeType=image%2Fjpeg&x:reply=custom');
    const target = '/oss-callback?id=1&index=2';
    const res = await sendRaw(server.origin, { target, headers: signer.headers(target, body), body });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ Status: 'OK', object: 'photos/cat.jpg', size: 108904 });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    expect(res.headers['transfer-encoding']).toBeUndefined();
    const last = seen.at(-1)!;
    expect(last).toMatchObject({
      verified: true,
      target,
      object: 'photos/cat.jpg',
      mimeType: 'image/jpeg',
      vars: { 'x:reply': 'custom' },
      oss: { bucket: 'test-bucket', requestId: '5CF3E7821AB22D0FDB86704D', tag: 'CALLBACK' },
    });
    expect(Buffer.from(last.rawBody).equals(body)).toBe(true);
  });

  it('verifies JSON bodies byte for byte, however the JSON is spaced', async () => {
    const body = Buffer.from('{ "object" : "a.txt",\n  "size": 3, "x:reply": "custom" }');
    const res = await sendRaw(server.origin, {
      target: '/oss-callback',
      headers: signer.headers('/oss-callback', body, { contentType: 'application/json' }),
      body,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ Status: 'OK', object: 'a.txt', size: 3 });
  });

  it('sends the official demo server framing on the wire (status line, Content-Length, JSON)', async () => {
    const body = 'object=x';
    const headers = signer.headers('/oss-callback', Buffer.from(body));
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
    const reply = await rawExchange(
      server.origin,
      `POST /oss-callback HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${lines.join('\r\n')}\r\n\r\n${body}`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.toLowerCase()).toMatch(/\r\ncontent-length: 15\r\n/);
    expect(reply.toLowerCase()).not.toMatch(/transfer-encoding/);
    expect(reply.endsWith('{"Status":"OK"}')).toBe(true);
  });

  it('refuses tampered body, path, query and signature with 400 JSON', async () => {
    const body = Buffer.from('object=a.txt&size=1');
    const target = '/oss-callback?a=1';
    const good = signer.headers(target, body);
    const cases: { target: string; body: Buffer; headers: Record<string, string> }[] = [
      { target, body: Buffer.from('object=a.txt&size=2'), headers: good },
      { target: '/oss-callback?a=2', body, headers: good },
      { target: '/oss-callback?a=1&b=1', body, headers: good },
      {
        target,
        body,
        headers: { ...good, authorization: signer.headers('/oss-callback?a=9', body).authorization! },
      },
    ];
    for (const c of cases) {
      const res = await sendRaw(server.origin, c);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ Status: 'Failed', Reason: 'signature-mismatch' });
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    }
    expect(rejected.filter((r) => r === 'signature-mismatch').length).toBeGreaterThanOrEqual(4);
  });

  it('refuses a callback without Authorization (e.g. stripped by a proxy) and a foreign key URL', async () => {
    const body = Buffer.from('object=a.txt');
    const { authorization: _dropped, ...unsigned } = signer.headers('/oss-callback', body);
    const res = await sendRaw(server.origin, { target: '/oss-callback', headers: unsigned, body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ Reason: 'missing-signature' });
    const foreign = signer.headers('/oss-callback', body, { keyUrl: 'http://127.0.0.1:1/evil.pem' });
    const res2 = await sendRaw(server.origin, { target: '/oss-callback', headers: foreign, body });
    expect(res2.status).toBe(400);
    expect(res2.json).toMatchObject({ Reason: 'key-host-not-allowed' });
  });

  it('answers 501 for methods other than POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await sendRaw(server.origin, { method, target: '/oss-callback' });
      expect(res.status, method).toBe(501);
      expect(res.json).toMatchObject({ Reason: 'method-not-allowed' });
    }
  });

  it('answers 413 for a body over the cap, declared or streamed', async () => {
    const big = Buffer.alloc(8192, 0x61);
    const res = await sendRaw(server.origin, {
      target: '/oss-callback',
      headers: signer.headers('/oss-callback', big),
      body: big,
    });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ Reason: 'body-too-large' });
  });
});

describe('framework integration pitfalls', () => {
  let resolver: ReturnType<typeof createPublicKeyResolver>;
  beforeAll(() => {
    resolver = createPublicKeyResolver({ keyUrlAllowlist: [`${appKeys.origin}/`] });
  });

  it('express: a route behind express.json() is refused as body-unavailable, not mis-verified', async () => {
    const app = express();
    app.post('/late', express.json(), ossCallbackMiddleware({ resolver }), (_req, res) => {
      res.json({ Status: 'OK' });
    });
    app.post('/raw', express.raw({ type: '*/*' }), ossCallbackMiddleware({ resolver }), (_req, res) => {
      res.json({ Status: 'OK' });
    });
    const server = await listen(createServer(app));
    try {
      const body = Buffer.from('{"object":"a.txt"}');
      const late = await sendRaw(server.origin, {
        target: '/late',
        headers: signer.headers('/late', body, { contentType: 'application/json' }),
        body,
      });
      expect(late.status).toBe(400);
      expect(late.json).toMatchObject({ Reason: 'body-unavailable' });
      const raw = await sendRaw(server.origin, {
        target: '/raw',
        headers: signer.headers('/raw', body, { contentType: 'application/json' }),
        body,
      });
      expect(raw.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('fastify: the plugin scope parses raw bytes while the rest of the app keeps JSON parsing', async () => {
    const server = await startAdapterServer('fastify', { resolver });
    try {
      const echo = await sendRaw(server.origin, {
        target: '/echo',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(echo.status).toBe(200);
      expect(echo.json).toEqual({ a: 1 });
      const body = Buffer.from('{"object":"a.txt"}');
      const cb = await sendRaw(server.origin, {
        target: '/oss-callback',
        headers: signer.headers('/oss-callback', body, { contentType: 'application/json' }),
        body,
      });
      expect(cb.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
