// The keep-alive pool to app servers (DESIGN.md; FIDELITY in callback-dispatcher.ts): uploads
// through the real server whose callbacks go to one app server share one TCP connection instead
// of paying a connect per callback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let app: Server;
let connections = 0;

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  app.on('connection', () => connections++);
  app.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await server.close();
});

describe('callback connections', () => {
  it('consecutive uploads call back over one kept-alive connection', async () => {
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/cb`;
    const callback = Buffer.from(JSON.stringify({ callbackUrl: url, callbackBody: 'o=${object}' })).toString(
      'base64',
    );
    for (let i = 0; i < 10; i++) {
      const res = await signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: `keep-alive/${i}.txt`,
        headers: { 'content-type': 'text/plain', 'x-oss-callback': callback },
        body: 'x',
      });
      expect(res.status, res.text).toBe(200);
      expect(res.text).toBe('{}');
    }
    expect(connections).toBe(1);
  });
});
