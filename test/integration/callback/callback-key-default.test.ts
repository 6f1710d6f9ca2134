// The storage server's callback key with no key options at all (DESIGN.md Keys): a 2048-bit RSA
// key generated on first start, served as an SPKI PEM, and kept across a restart on the same data
// directory, so app servers that cached the PEM keep verifying callbacks.
import { createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type UpcallServer } from '../../../src/server/create-server.ts';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import {
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
  TEST_BUCKET,
  TEST_REGION,
  type TestServer,
} from '../../helpers/start-test-server.ts';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-key-default-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function start(): Promise<UpcallServer> {
  return createServer({
    logger: pino({ level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    storage: { kind: 'fs', dataDir },
    credentials: { [TEST_ACCESS_KEY_ID]: TEST_ACCESS_KEY_SECRET },
    bucketsToCreate: [TEST_BUCKET],
  });
}

async function servedPem(server: UpcallServer): Promise<string> {
  const response = await fetch(`${server.url}/callback_pub_key_v1.pem`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The subset of TestServer that signedRequest reads. */
function asTestServer(server: UpcallServer): TestServer {
  return {
    url: server.url,
    endpoint: server.url,
    port: server.port,
    store: server.store,
    dataDir,
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: TEST_ACCESS_KEY_SECRET,
    server,
    close: () => server.close(),
  };
}

describe('default callback key', () => {
  it('is 2048-bit SPKI PEM, kept across a restart, and signs callbacks an app server verifies', async () => {
    const first = await start();
    let pem: string;
    try {
      pem = await servedPem(first);
    } finally {
      await first.close();
    }
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPublicKey(pem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);

    // Restart on the same data directory: same key; an app pinned to the first PEM verifies.
    const second = await start();
    let sink: CallbackSink | undefined;
    try {
      expect(await servedPem(second)).toBe(pem);
      sink = await startCallbackSink(pem);
      const callback = Buffer.from(
        JSON.stringify({ callbackUrl: `${sink.url}/cb`, callbackBody: 'object=${object}' }),
      ).toString('base64');
      const res = await signedRequest(asTestServer(second), {
        method: 'PUT',
        bucket: TEST_BUCKET,
        key: 'after-restart.txt',
        headers: { 'content-type': 'text/plain', 'x-oss-callback': callback },
        body: 'kept key',
      });
      expect(res.status, res.text).toBe(200);
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0]!.verified).toBe(true);
    } finally {
      await sink?.close();
      await second.close();
    }
  });
});
