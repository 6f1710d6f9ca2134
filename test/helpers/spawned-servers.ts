/**
 * `upcall server` and `upcall receiver` spawned as users run them (spawn-cli.ts), with what the CLI
 * tests of them all repeat: the ready lines, root credentials in the environment, an ali-oss client
 * for a spawned server, a stop that waits for the exit, and a fresh data dir per test.
 *
 *   const dataDir = tempDirPerTest('upcall-cli-x-');
 *   const cli = await spawnServer(['--data', dataDir(), '--bucket', 'b'], CREDENTIALS);
 *   const oss = spawnedServerClient(cli, 'b', CREDENTIALS);
 *   expect(await stopCli(cli)).toBe(0);
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { ossClient, type AliOssClient } from './ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from './spawn-cli.ts';
import type { TestServer } from './start-test-server.ts';

/** The root key a spawned server gets (`UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`). */
export interface RootCredentials {
  accessKeyId: string;
  accessKeySecret: string;
}

/** `upcall server --port 0 …args` with `credentials`; resolves with its endpoint as `ready`. */
export function spawnServer(
  args: readonly string[],
  credentials: RootCredentials,
  env: Record<string, string> = {},
): Promise<SpawnedCli> {
  return spawnCli(['server', '--port', '0', ...args], {
    env: {
      UPCALL_ACCESS_KEY_ID: credentials.accessKeyId,
      UPCALL_ACCESS_KEY_SECRET: credentials.accessKeySecret,
      ...env,
    },
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
}

/** `upcall receiver --port 0 …args`; resolves with its callback URL as `ready`. */
export function spawnReceiver(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<SpawnedCli> {
  return spawnCli(['receiver', '--port', '0', ...args], { env, ready: /^callback URL: (http:\/\/\S+)$/m });
}

/** ali-oss for `bucket` on a server's `endpoint` (virtual-host style on its IP endpoint). */
export function endpointClient(endpoint: string, bucket: string, credentials: RootCredentials): AliOssClient {
  // ossClient reads only these fields of a TestServer.
  return ossClient({
    port: Number(new URL(endpoint).port),
    region: 'oss-cn-hangzhou',
    bucket,
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
  } as TestServer);
}

/** ali-oss for `bucket` on a server spawned by spawnServer. */
export function spawnedServerClient(
  server: SpawnedCli,
  bucket: string,
  credentials: RootCredentials,
): AliOssClient {
  return endpointClient(server.ready, bucket, credentials);
}

/** SIGTERM, then the exit code once it has exited (0 for a clean graceful stop). */
export async function stopCli(cli: SpawnedCli | undefined): Promise<number | null | undefined> {
  cli?.child.kill('SIGTERM');
  return cli?.exited;
}

/** Stops each of them in turn (undefined: never started). */
export async function stopAll(clis: readonly (SpawnedCli | undefined)[]): Promise<void> {
  for (const cli of clis) await stopCli(cli);
}

/** A fresh temp dir for every test of the file (or describe) that calls it, removed after it. */
export function tempDirPerTest(prefix: string): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error('tempDirPerTest: read the dir inside a test');
    return dir;
  };
}
