// HTTPS callbacks through the real server (SPEC.md §2.2 callbackSNI, §5.2): SNI is sent only when
// the callback asks for it, and a server that verifies certificates (the default) answers 203
// `Error status : 502.` for an app server with an untrusted certificate, keeping the object.
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let lenient: TestServer;
let strict: TestServer;
let app: Server;
let appUrl: string;
const servernames: (string | false)[] = [];

beforeAll(async () => {
  const fixtures = new URL('../../fixtures/keys/', import.meta.url);
  const tls = {
    key: await readFile(new URL('callback-tls-test-key.pem', fixtures)),
    cert: await readFile(new URL('callback-tls-test-cert.pem', fixtures)),
  };
  app = createHttpsServer(tls, (req, res) => {
    servernames.push((req.socket as TLSSocket).servername ?? false);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 12 });
      res.end('{"tls":true}');
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `https://localhost:${(app.address() as AddressInfo).port}/tls`;
  lenient = await startTestServer({
    callback: { keyBits: 1024, timeoutMs: 2000, rejectUnauthorized: false },
  });
  strict = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
});
afterAll(async () => {
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await lenient.close();
  await strict.close();
});

async function upload(server: TestServer, key: string, sni: boolean) {
  const callback = Buffer.from(
    JSON.stringify({
      callbackUrl: appUrl,
      callbackBody: 'o=${object}',
      ...(sni ? { callbackSNI: true } : {}),
    }),
  ).toString('base64');
  return signedRequest(server, {
    method: 'PUT',
    bucket: server.bucket,
    key,
    headers: { 'content-type': 'text/plain', 'x-oss-callback': callback },
    body: 'over tls',
  });
}

describe('https callbacks through the server', () => {
  it('sends SNI only with callbackSNI: true', async () => {
    servernames.length = 0;
    const plain = await upload(lenient, 'tls/plain.txt', false);
    expect(plain.status, plain.text).toBe(200);
    expect(plain.text).toBe('{"tls":true}');
    const withSni = await upload(lenient, 'tls/sni.txt', true);
    expect(withSni.status, withSni.text).toBe(200);
    expect(servernames).toEqual([false, 'localhost']);
  });

  it('by default refuses an untrusted certificate: 203 Error status : 502., object stored', async () => {
    const res = await upload(strict, 'tls/untrusted.txt', true);
    expect(res.status).toBe(203);
    expect(res.text).toContain('<Code>CallbackFailed</Code>');
    expect(res.text).toContain('<Message>Error status : 502.</Message>');
    expect((await strict.store.getObject(strict.bucket, 'tls/untrusted.txt')).object.size).toBe(8);
  });
});
