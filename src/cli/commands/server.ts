/**
 * `upcall server --port N --data DIR [--host H] [--bucket NAME]...`: the storage server alone
 * (DESIGN.md "Interfaces other people script against"). Credentials come from
 * `UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`; when unset the built-in defaults are used
 * and printed so clients can be configured. Prints `endpoint: <url>` once listening (scripts and
 * tests parse that line) and closes gracefully on SIGINT / SIGTERM.
 *
 * Invariant: stdout carries only the banner; request logs go to stderr.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import type { CallbackKeyBits } from '../../server/callback-key.ts';
import {
  createServer,
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  DEFAULT_REGION,
  type UpcallServer,
} from '../../server/create-server.ts';
import { isValidBucketName } from '../../shared/bucket-name.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { UsageError } from '../connection.ts';
import { runAction } from '../run-action.ts';

interface ServerFlags {
  port: number;
  host: string;
  data?: string;
  bucket: string[];
  region: string;
  callbackKeyBits?: CallbackKeyBits;
  logLevel: string;
}

function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a port number 0..65535');
  return port;
}

function collectBucket(value: string, previous: string[]): string[] {
  if (!isValidBucketName(value)) {
    throw new InvalidArgumentError('bucket names are 3-63 lower-case letters, digits and hyphens');
  }
  return [...previous, value];
}

function parseKeyBits(value: string): CallbackKeyBits {
  if (value === '1024' || value === '2048' || value === '4096') return Number(value) as CallbackKeyBits;
  throw new InvalidArgumentError('expected 1024, 2048 or 4096');
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** `LOG_LEVEL` from the environment when it names a level (any case), else `info`. */
function defaultLogLevel(io: CliIo): string {
  const level = io.env['LOG_LEVEL']?.toLowerCase();
  return level !== undefined && LOG_LEVELS.includes(level) ? level : 'info';
}

/** Signals that stop the server; injectable so tests never touch the test runner's handlers. */
export interface StopSignals {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

export function serverCommand(io: CliIo = processIo(), signals: StopSignals = process): Command {
  return new Command('server')
    .description('run the OSS-compatible storage server')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', parsePort, 9000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-d, --data <dir>', 'data directory (blobs + SQLite); without it data is kept in memory')
    .option(
      '-b, --bucket <name>',
      'create this bucket at start unless it exists (repeatable)',
      collectBucket,
      [],
    )
    .option('--region <region>', 'region reported by GetBucketLocation / GetBucketInfo', DEFAULT_REGION)
    .option('--callback-key-bits <bits>', 'size of a newly generated callback signing key', parseKeyBits)
    .addOption(
      new Option('--log-level <level>', 'request log level (stderr)')
        .choices(LOG_LEVELS)
        .default(defaultLogLevel(io)),
    )
    .action((flags: ServerFlags) =>
      runAction(io, async () => {
        const credentials = accessKey(io);
        const dataDir = flags.data === undefined ? undefined : resolve(io.cwd, flags.data);
        const server = await createServer({
          port: flags.port,
          host: flags.host,
          ...(dataDir !== undefined && { dataDir }),
          credentials: { [credentials.id]: credentials.secret },
          bucketsToCreate: flags.bucket,
          region: flags.region,
          logger: pino({ name: 'upcall-server', level: flags.logLevel }, pino.destination(2)),
          ...(flags.callbackKeyBits !== undefined && { callback: { keyBits: flags.callbackKeyBits } }),
        });
        io.out(banner(server, { ...flags, dataDir }, credentials));
        stopOn(server, io, signals);
      }),
    );
}

interface AccessKeySetting {
  id: string;
  secret: string;
  fromEnv: boolean;
}

function accessKey(io: CliIo): AccessKeySetting {
  const id = io.env['UPCALL_ACCESS_KEY_ID'];
  const secret = io.env['UPCALL_ACCESS_KEY_SECRET'];
  if ((id === undefined || id === '') !== (secret === undefined || secret === '')) {
    throw new UsageError('set both UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET, or neither');
  }
  if (id === undefined || id === '' || secret === undefined) {
    return { id: DEFAULT_ACCESS_KEY_ID, secret: DEFAULT_ACCESS_KEY_SECRET, fromEnv: false };
  }
  return { id, secret, fromEnv: true };
}

function banner(
  server: UpcallServer,
  flags: Omit<ServerFlags, 'data'> & { dataDir: string | undefined },
  key: AccessKeySetting,
): string {
  const lines = [
    `upcall server listening`,
    `endpoint: ${server.url}`,
    `region: ${flags.region}`,
    `data: ${flags.dataDir ?? '(memory only: nothing is kept after exit)'}`,
    `buckets: ${flags.bucket.length > 0 ? flags.bucket.join(', ') : '(none created at start)'}`,
    `AccessKeyId: ${key.id}`,
    key.fromEnv ? 'AccessKeySecret: (from UPCALL_ACCESS_KEY_SECRET)' : `AccessKeySecret: ${key.secret}`,
  ];
  if (!key.fromEnv) {
    lines.push(
      '(default credentials: set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET to choose your own)',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** First signal: stop accepting, finish in-flight requests, close the store. Second: exit now. */
function stopOn(server: UpcallServer, io: CliIo, signals: StopSignals): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    io.err('upcall server: stopping\n');
    // Anything still holding the loop (a stuck keep-alive client) must not keep the process up.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close().then(
      () => io.err('upcall server: stopped\n'),
      (error: unknown) => {
        io.err(`upcall server: error while stopping: ${String(error)}\n`);
        io.setExitCode(1);
      },
    );
  };
  // Listening (not once): a second signal while stopping forces the exit.
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
}
