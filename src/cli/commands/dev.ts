/**
 * `upcall dev` (= `npm start`): the storage server and the receiver app together, with embedded
 * defaults, for developing upload callbacks on one machine (DESIGN.md "Who uses it", issue 6).
 *
 *   <data>/storage      the storage server's objects and callback signing key (unless
 *                       --callback-key-file names one)
 *   <data>/receiver     the receiver's upload records
 *   <data>/credentials.json  the generated access key (unless UPCALL_ACCESS_KEY_* are set)
 *   <data>/dev-session.json  endpoint, bucket, keys and URLs for other CLI commands, while running
 *
 * The receiver trusts exactly the local server's key URL (SPEC.md §1.2 allowlist), so callbacks
 * are verified end to end with the real RSA signature. Invariants: SIGINT/SIGTERM close both
 * servers (in-flight requests finish, the port is released) and remove the session file; if
 * either server fails to start, whatever did start is closed again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import {
  createServer,
  DEFAULT_REGION,
  type ServerOptions,
  type UpcallServer,
} from '../../server/create-server.ts';
import { defaultCallbackKeyUrl, readCallbackKeyFile } from '../../server/callback/callback-key.ts';
import { createReceiver, type Receiver } from '../../receiver/app/create-receiver.ts';
import { DEMO_CALLBACK_BODY } from '../../receiver/dashboard/demo-callback-body.ts';
import { isLoopbackHost } from '../../receiver/app/request-guard.ts';
import { mountDashboard } from '../../receiver/dashboard/mount-dashboard.ts';
import { stopOnSignals } from '../graceful-stop.ts';
import { parsePort } from '../port-option.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { DEFAULT_DATA_DIR, DEV_SESSION_FILE, type DevSession } from '../connection.ts';
import { cliInvocation } from '../cli-invocation.ts';
import { DEV_BUCKET_CORS } from '../dev-cors.ts';
import { devAccessKey } from '../dev-credentials.ts';
import { devBanner } from '../dev-banner.ts';
import { chosenLogLevel, logLevelOption, stderrLogger, verboseOption } from '../log-level.ts';
import { runAction } from '../run-action.ts';
import {
  lifecycleDayOption,
  lifecycleIntervalOption,
  lifecycleSetting,
  type LifecycleFlags,
} from '../lifecycle-options.ts';
import { DEV_STORAGE_SUBDIR } from './keys.ts';
import { RECEIVER_TOKEN_ENV } from './receiver.ts';
import { callbackKeyFileOf, SERVER_ENV } from './server.ts';

export interface DevOptions {
  dataDir: string;
  /** Storage server port; 0 picks a free one. */
  port: number;
  receiverPort: number;
  host: string;
  bucket: string;
  env: Readonly<Record<string, string | undefined>>;
  /** A PEM holding the callback signing key, in place of the one kept in `<data>/storage`. */
  callbackKeyFile?: string | undefined;
  /** Level of the JSON lines both servers log to stderr (default `warn`: failures only; `info`
   *  logs every request). */
  logLevel?: string;
  /** The storage server's lifecycle sweep (`--lifecycle-interval`, `--lifecycle-day`); default its own. */
  lifecycle?: ServerOptions['lifecycle'];
  /** How the banner tells the user to run the CLI (cli-invocation.ts). Default: from process.cwd(). */
  cli?: string;
}

export interface DevHandle {
  session: DevSession;
  banner: string;
  server: UpcallServer;
  receiver: Receiver;
  close(): Promise<void>;
}

export const DEFAULT_DEV_PORT = 9000;
export const DEFAULT_RECEIVER_PORT = 9100;
export const DEFAULT_DEV_BUCKET = 'uploads';
/** Quiet by default (the banner is the interface): failed callbacks and errors only. */
export const DEFAULT_DEV_LOG_LEVEL = 'warn';
/** Where the receiver takes callbacks (its default). */
export const CALLBACK_PATH = '/callback';
/** How long in-flight requests get to finish on Ctrl-C before connections are cut. */
export const CLOSE_GRACE_MS = 2000;
/** Where `/sts` credentials and post policies let the demo (and any client of this setup) write. */
export const DEMO_PREFIX = 'demo/';

export async function startDev(options: DevOptions): Promise<DevHandle> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const key = await devAccessKey(dataDir, options.env);
  // The receiver's records API and dashboard need a token beyond loopback (issue 14): the one
  // in the environment, else a fresh one per run, printed in the banner and the dashboard link.
  const apiToken =
    options.env[RECEIVER_TOKEN_ENV] ??
    (isLoopbackHost(options.host) ? undefined : randomBytes(24).toString('base64url'));
  const logger = stderrLogger(options.logLevel ?? DEFAULT_DEV_LOG_LEVEL);
  // Read before anything listens: an unreadable or wrong key file stops the start.
  const callbackKey =
    options.callbackKeyFile === undefined ? undefined : await readCallbackKeyFile(options.callbackKeyFile);

  const server = await createServer({
    port: options.port,
    host: options.host,
    storage: { kind: 'fs', dataDir: join(dataDir, DEV_STORAGE_SUBDIR) },
    ...(callbackKey !== undefined && { callback: { key: callbackKey } }),
    credentials: { [key.accessKeyId]: key.accessKeySecret },
    bucketsToCreate: [options.bucket],
    logger: logger.child({ name: 'upcall-server' }),
    ...(options.lifecycle === undefined ? {} : { lifecycle: options.lifecycle }),
  });
  try {
    // Browser uploads (the demo, a web app) go through the bucket's CORS rules, as on OSS.
    await server.store.putBucketSetting(options.bucket, 'cors', DEV_BUCKET_CORS);
  } catch (error) {
    await server.close();
    throw error;
  }
  const keyUrl = server.callbackService?.keyUrl() ?? defaultCallbackKeyUrl(server.host, server.port);

  const storage = {
    endpoint: reachable(server.url),
    bucket: options.bucket,
    region: DEFAULT_REGION,
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
  };
  let receiver: Receiver | undefined;
  let receiverUrl = '';
  // Known once the receiver listens; the dashboard reads it on its first request.
  const callbackUrlNow = (): string => (receiverUrl === '' ? '' : `${receiverUrl}${CALLBACK_PATH}`);
  try {
    const created = await createReceiver({
      dataDir: join(dataDir, 'receiver'),
      port: options.receiverPort,
      host: options.host,
      keyUrlAllowlist: [keyUrl],
      callbackPath: CALLBACK_PATH,
      logger: logger.child({ name: 'upcall-receiver' }),
      ...(apiToken === undefined ? {} : { apiToken }),
      // The receiver's own /sts and /api/post-policy (credential-endpoints.ts), as `upcall
      // receiver` serves them when configured: one developer's setup, so every user id shares
      // DEMO_PREFIX; each credential and policy binds the callback to this receiver.
      credentials: {
        accessKeyId: storage.accessKeyId,
        accessKeySecret: storage.accessKeySecret,
        bucket: storage.bucket,
        endpoint: storage.endpoint,
        region: DEFAULT_REGION.replace(/^oss-/, ''),
        callbackBody: DEMO_CALLBACK_BODY,
        dir: () => DEMO_PREFIX,
      },
      routes: (app) => {
        mountDashboard(app, () => ({ storage, callbackUrl: callbackUrlNow(), demoPrefix: DEMO_PREFIX }));
      },
    });
    receiver = created;
    receiverUrl = reachable(await created.listen());
  } catch (error) {
    await receiver?.close();
    await server.close();
    throw error;
  }
  const running = receiver;
  const callbackUrl = callbackUrlNow();

  const session: DevSession = {
    endpoint: storage.endpoint,
    bucket: options.bucket,
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    callbackUrl,
    receiverUrl,
    dashboardUrl: `${receiverUrl}/dashboard${apiToken === undefined ? '' : `#token=${encodeURIComponent(apiToken)}`}`,
    keyUrl,
    pid: process.pid,
  };
  const sessionFile = join(dataDir, DEV_SESSION_FILE);
  await writeFile(sessionFile, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });

  let closing: Promise<void> | undefined;
  return {
    session,
    banner: devBanner({
      ...session,
      dataDir: options.dataDir,
      region: DEFAULT_REGION,
      credentialSource: key.source,
      cli: options.cli ?? cliInvocation(process.cwd()),
      ...(apiToken === undefined ? {} : { apiToken }),
    }),
    server,
    receiver: running,
    close() {
      closing ??= (async () => {
        await rm(sessionFile, { force: true });
        // The receiver first: the storage server's callback pool holds keep-alive connections to it.
        // A client that stops reading (a browser tab, a stalled download) must not keep Ctrl-C
        // from finishing: after a grace period every connection is cut.
        const force = setTimeout(() => {
          running.app.server.closeAllConnections();
          server.httpServer.closeAllConnections();
        }, CLOSE_GRACE_MS);
        force.unref();
        // The receiver first: the storage server's callback pool holds keep-alive connections to it.
        await running.close().catch(() => undefined);
        await server.close();
        clearTimeout(force);
      })();
      return closing;
    },
  };
}

/**
 * A wildcard bind address (`--host 0.0.0.0`) is not an address to give clients or to print;
 * on this machine they reach the servers at 127.0.0.1.
 */
function reachable(origin: string): string {
  const url = new URL(origin);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
  return url.origin;
}

interface DevFlags extends LifecycleFlags {
  data: string;
  port: number;
  receiverPort: number;
  host: string;
  bucket: string;
  callbackKeyFile?: string;
  logLevel?: string;
  verbose?: boolean;
}

export function devCommand(io: CliIo = processIo()): Command {
  const command = new Command('dev')
    .description('run the storage server and the receiver app together for local development')
    .option('--data <dir>', 'where objects, keys and upload records live', DEFAULT_DATA_DIR)
    .option('--port <n>', 'storage server port (0: any free port)', parsePort, DEFAULT_DEV_PORT)
    .option(
      '--receiver-port <n>',
      'receiver (app server, dashboard) port (0: any free port)',
      parsePort,
      DEFAULT_RECEIVER_PORT,
    )
    .option('--host <host>', 'address both servers listen on', '127.0.0.1')
    .option('--bucket <name>', 'bucket created at start', DEFAULT_DEV_BUCKET)
    .option(
      '--callback-key-file <pem>',
      `sign callbacks with the RSA private key in this PEM file instead of the one kept in --data (env ${SERVER_ENV.callbackKeyFile})`,
    )
    .addOption(lifecycleIntervalOption())
    .addOption(lifecycleDayOption())
    .addOption(logLevelOption(DEFAULT_DEV_LOG_LEVEL))
    .addOption(verboseOption());
  command.action((flags: DevFlags) =>
    runAction(io, async () => {
      const dev = await startDev({
        dataDir: resolve(io.cwd, flags.data),
        port: flags.port,
        receiverPort: flags.receiverPort,
        host: flags.host,
        bucket: flags.bucket,
        callbackKeyFile: callbackKeyFileOf(flags.callbackKeyFile, io),
        env: io.env,
        logLevel: chosenLogLevel(flags, io, DEFAULT_DEV_LOG_LEVEL),
        lifecycle: lifecycleSetting(flags, io),
        cli: cliInvocation(io.cwd),
      });
      await new Promise<void>((done) => {
        // Handlers first: a script may send SIGTERM the moment it reads the banner.
        const release = stopOnSignals(process, (signal) => {
          io.err(`\n${signal}: stopping…\n`);
          return dev.close().then(done, done).finally(release);
        });
        io.out(dev.banner);
      });
      io.err('stopped.\n');
    }),
  );
  return command;
}
