/**
 * A HEAD error carries its XML base64-encoded in `x-oss-err` (HEAD has no body). That XML may echo
 * the request (a SignatureDoesNotMatch repeats the StringToSign), so a large request must not make
 * a response head larger than clients read: Node's default is 16 KiB, and a client that cannot
 * read the head sees a parse error instead of the 403.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

it('keeps x-oss-err readable by a default client when the request is large', async () => {
  const url = new URL(server.endpoint);
  const response = await new Promise<{ status: number; err: string | undefined }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'HEAD',
        path: `/${server.bucket}/some-key`,
        headers: {
          date: new Date().toUTCString(),
          // Signed headers: all of them are echoed in the StringToSign of the error.
          'x-oss-meta-big': 'x'.repeat(12 * 1024),
          authorization: `OSS ${server.accessKeyId}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=`,
        },
      },
      (res) => {
        res.resume();
        const err = res.headers['x-oss-err'];
        resolve({ status: res.statusCode ?? 0, err: typeof err === 'string' ? err : undefined });
      },
    );
    req.on('error', reject);
    req.end();
  });
  expect(response.status).toBe(403);
  expect(response.err).toBeDefined();
  expect(response.err!.length).toBeLessThanOrEqual(8 * 1024);
  const xml = Buffer.from(response.err!, 'base64').toString('utf8');
  expect(xml).toContain('<Code>SignatureDoesNotMatch</Code>');
});
