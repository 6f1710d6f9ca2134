/**
 * `startTestServer()`: a real upcall storage server on 127.0.0.1, port 0, with its own temp data
 * dir and one bucket, for integration tests. Everything it starts, `close()` stops and removes.
 *
 *   const server = await startTestServer();
 *   const client = ossClient(server);            // ali-oss, bucket in Host (virtual-host style)
 *   await client.put('a.txt', Buffer.from('hi'));
 *   await server.close();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createServer, type ServerOptions, type UpcallServer } from '../../src/server/create-server.ts';
import type { ObjectStore } from '../../src/store/index.ts';

export const TEST_ACCESS_KEY_ID = 'upcall-test-key-id';
export const TEST_ACCESS_KEY_SECRET = 'upcall-test-key-secret';
export const TEST_BUCKET = 'upcall-test';
export const TEST_REGION = 'oss-cn-hangzhou';

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Same as url: what ali-oss takes as `endpoint`. */
  endpoint: string;
  port: number;
  store: ObjectStore;
  /** A fresh temp dir, removed by close(): the fs store's data dir (unused by the memory backend). */
  dataDir: string;
  /** The bucket created at start (private). */
  bucket: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  server: UpcallServer;
  close(): Promise<void>;
}

export interface TestServerOptions extends Omit<ServerOptions, 'port' | 'host' | 'storage' | 'credentials'> {
  /** Default TEST_BUCKET; `null` creates none. */
  bucket?: string | null;
  /** `fs` (default: the embedded store in the temp dir) or `memory`. Ignored when `store` is given. */
  backend?: 'fs' | 'memory';
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-test-'));
  const bucket = options.bucket === undefined ? TEST_BUCKET : options.bucket;
  const { bucket: _bucket, backend, ...serverOptions } = options;
  let server: UpcallServer;
  try {
    server = await createServer({
      logger: pino({ level: process.env['UPCALL_TEST_LOG_LEVEL'] ?? 'error' }),
      ...serverOptions,
      host: '127.0.0.1',
      port: 0,
      // The server owns the store it opens (ignored when `store` is given).
      storage: backend === 'memory' ? { kind: 'memory' } : { kind: 'fs', dataDir },
      credentials: { [TEST_ACCESS_KEY_ID]: TEST_ACCESS_KEY_SECRET },
      bucketsToCreate: [...(bucket === null ? [] : [bucket]), ...(options.bucketsToCreate ?? [])],
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    endpoint: server.url,
    port: server.port,
    store: server.store,
    dataDir,
    bucket: bucket ?? '',
    region: TEST_REGION,
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: TEST_ACCESS_KEY_SECRET,
    server,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
