/**
 * N `upcall server` processes in gateway mode over one PostgreSQL database and one S3 engine
 * bucket (issue 16), spawned as users run them (spawn-cli.ts), started at the same moment so their
 * schema migrations race as they would behind a load balancer. Each gets the same root key and
 * creates the same bucket at start; tests reach each through ali-oss (`client`) or raw HTTP
 * (`target` for raw-request.ts).
 *
 *   const db = await createTestDatabase(services.pgUrl, 'scaleout');
 *   const [a, b] = await startGateways(2, { databaseUrl: db.url, s3: services.s3 });
 *   await a.client().put('k', Buffer.from('x'));
 *   (await b.client().get('k')).content;
 *
 * Everything reaches the CLI through the environment (UPCALL_DATABASE_URL, UPCALL_S3_*), as an
 * operator should pass it: no password on a command line.
 */
import type { S3Config } from '../../src/store/gateway/blob-store.ts';
import { ossClient, type AliOssClient, type ClientOptions } from './ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from './spawn-cli.ts';
import type { TestServer } from './start-test-server.ts';

export const GATEWAY_BUCKET = 'scale-out';
export const GATEWAY_KEY_ID = 'gateway-key-id';
export const GATEWAY_KEY_SECRET = 'gateway-key-secret';

export interface GatewayConfig {
  databaseUrl: string;
  s3: S3Config;
  /** `--gc-grace` (default: the CLI's 1 h). */
  gcGrace?: string;
  /** More `upcall server` arguments, e.g. `--callback-key-url …`. */
  args?: string[];
  /** More environment. */
  env?: Record<string, string>;
  /** The bucket each gateway creates at start unless it exists (default GATEWAY_BUCKET). */
  bucket?: string;
}

export interface Gateway {
  cli: SpawnedCli;
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  /** For raw-request.ts and ali-oss-client.ts. */
  target: TestServer;
  client(options?: ClientOptions): AliOssClient;
  /** SIGKILL: no graceful stop, no cleanup, as a crashed process. */
  kill9(): Promise<void>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

export function gatewayEnv(config: GatewayConfig): Record<string, string> {
  return {
    UPCALL_ACCESS_KEY_ID: GATEWAY_KEY_ID,
    UPCALL_ACCESS_KEY_SECRET: GATEWAY_KEY_SECRET,
    UPCALL_DATABASE_URL: config.databaseUrl,
    UPCALL_S3_ENDPOINT: config.s3.endpoint,
    UPCALL_S3_BUCKET: config.s3.bucket,
    UPCALL_S3_REGION: config.s3.region,
    UPCALL_S3_ACCESS_KEY_ID: config.s3.accessKeyId,
    UPCALL_S3_SECRET_ACCESS_KEY: config.s3.secretAccessKey,
    ...config.env,
  };
}

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const bucket = config.bucket ?? GATEWAY_BUCKET;
  const args = [
    'server',
    '--port',
    '0',
    '--bucket',
    bucket,
    '--callback-key-bits',
    '1024',
    ...(config.s3.pathStyle ? [] : ['--no-s3-path-style']),
    ...(config.gcGrace === undefined ? [] : ['--gc-grace', config.gcGrace]),
    ...(config.args ?? []),
  ];
  const cli = await spawnCli(args, { env: gatewayEnv(config), ready: /^endpoint: (http:\/\/\S+)$/m });
  const port = Number(new URL(cli.ready).port);
  const target = {
    url: cli.ready,
    endpoint: cli.ready,
    port,
    bucket,
    region: 'oss-cn-hangzhou',
    accessKeyId: GATEWAY_KEY_ID,
    accessKeySecret: GATEWAY_KEY_SECRET,
  } as TestServer;
  return {
    cli,
    endpoint: cli.ready,
    port,
    target,
    client: (options = {}) => ossClient(target, options),
    async kill9() {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exited;
    },
    async stop() {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGTERM');
      return cli.exited;
    },
  };
}

/** `count` gateways started at once (their migrations race, as N replicas starting together). */
export async function startGateways(count: number, config: GatewayConfig): Promise<Gateway[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startGateway(config)));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    for (const result of started) if (result.status === 'fulfilled') await result.value.kill9();
    throw failed.reason;
  }
  return started.map((result) => (result as PromiseFulfilledResult<Gateway>).value);
}

/** Stops every gateway (SIGTERM; one that hangs is killed), whatever state it is in. */
export async function stopGateways(gateways: readonly Gateway[]): Promise<void> {
  await Promise.all(
    gateways.map(async (gateway) => {
      const timer = setTimeout(() => gateway.cli.child.kill('SIGKILL'), 10_000);
      await gateway.stop();
      clearTimeout(timer);
    }),
  );
}
