// The callback log's count bound holds after every batch the server commits (issue 18): with
// `callbackLog.maxEntries` 2, a log pruned to 2 that gets one more entry is pruned to 2 again,
// not left at 3 until the minute's prune. Seen through the admin endpoint of a real server,
// uploads by ali-oss whose callbacks fail (nothing listens on port 9).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OssClient } from '../../../src/client/oss-client.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let client: AliOssClient;
let root: OssClient;

beforeAll(async () => {
  server = await startTestServer({
    callback: { keyBits: 1024, timeoutMs: 2000 },
    callbackLog: { maxEntries: 2 },
  });
  client = ossClient(server);
  root = new OssClient({
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  });
});
afterAll(async () => {
  await server.close();
});

async function failedUpload(key: string): Promise<void> {
  await expect(
    client.put(key, Buffer.from(key), {
      callback: { url: 'http://127.0.0.1:9/cb', body: 'object=${object}' },
    }),
  ).rejects.toMatchObject({ status: 203 });
}

/** The logged keys, newest first, once the background prune has brought them down to 2 (or 5 s). */
async function keptKeys(): Promise<string[]> {
  let keys: string[] = [];
  for (let i = 0; i < 100; i++) {
    keys = (await root.listCallbacks()).callbacks.map((c) => c.key);
    if (keys.length <= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return keys;
}

describe('callback log count bound', () => {
  it('holds after each batch, a batch of one after a prune included', async () => {
    await Promise.all(['1.txt', '2.txt', '3.txt', '4.txt'].map(failedUpload));
    expect(await keptKeys()).toHaveLength(2);
    // One more, alone in its batch: the prune after it drops the oldest again.
    await failedUpload('5.txt');
    const kept = await keptKeys();
    expect(kept).toHaveLength(2);
    expect(kept[0]).toBe('5.txt');
    await failedUpload('6.txt');
    expect(await keptKeys()).toEqual(['6.txt', '5.txt']);
  });
});
