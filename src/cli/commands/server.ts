/**
 * `upcall server --port N --data DIR [--host H] [--bucket NAME]...`: the storage server alone
 * (DESIGN.md "Interfaces other people script against"). Credentials come from
 * `UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`; when unset the built-in defaults are used
 * and printed so clients can be configured. Prints `endpoint: <url>` once listening (scripts and
 * tests parse that line) and closes gracefully on SIGINT / SIGTERM.
 *
 * Region, callback key size / URL, the private-callback refusal, unsigned callbacks, skipping fsync
 * and path-style host names are flags, each also settable from an `UPCALL_…` variable (SERVER_ENV);
 * a flag wins over the variable.
 *
 * Invariant: stdout carries only the banner; request logs go to stderr.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { CANONICAL_CALLBACK_KEY_URL, type CallbackKeyBits } from '../../server/callback-key.ts';
import {
  createServer,
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  DEFAULT_REGION,
  DEFAULT_RESTORE_DELAY_MS,
  type UpcallServer,
} from '../../server/create-server.ts';
import { isValidBucketName } from '../../shared/bucket-name.ts';
import { parseDuration } from '../duration-option.ts';
import { parsePort } from '../port-option.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { UsageError } from '../connection.ts';
import { runAction } from '../run-action.ts';

interface ServerFlags {
  port: number;
  host: string;
  data?: string;
  bucket: string[];
  region?: string;
  callbackKeyBits?: CallbackKeyBits;
  callbackKeyUrl?: string;
  forbidPrivateCallbacks?: boolean;
  unsignedCallbacks?: boolean;
  unsafeNoFsync?: boolean;
  pathStyleHost?: string[];
  restoreDelay?: number;
  logLevel: string;
}

/** The environment variables behind the flags (a flag given on the command line wins). */
export const SERVER_ENV = {
  region: 'UPCALL_REGION',
  callbackKeyBits: 'UPCALL_CALLBACK_KEY_BITS',
  callbackKeyUrl: 'UPCALL_CALLBACK_KEY_URL',
  forbidPrivateCallbacks: 'UPCALL_FORBID_PRIVATE_CALLBACKS',
  unsignedCallbacks: 'UPCALL_UNSIGNED_CALLBACKS',
  unsafeNoFsync: 'UPCALL_UNSAFE_NO_FSYNC',
  pathStyleHosts: 'UPCALL_PATH_STYLE_HOSTS',
  restoreDelay: 'UPCALL_RESTORE_DELAY',
} as const;

/** Flags merged with their environment variables, validated. */
interface ServerSettings {
  region: string;
  callbackKeyBits: CallbackKeyBits | undefined;
  callbackKeyUrl: string | undefined;
  forbidPrivateCallbacks: boolean;
  unsignedCallbacks: boolean;
  fsync: boolean;
  pathStyleHosts: string[];
  restoreDelayMs: number;
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

function parseKeyUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an absolute http(s) URL');
  }
  return value;
}

function parseHostName(value: string): string {
  const host = value.trim().toLowerCase();
  // Compared with the Host header's name part (port stripped), so a port here could never match.
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(host)) {
    throw new InvalidArgumentError('expected a host name without scheme or port, e.g. oss.example.com');
  }
  return host;
}

/** No default list: commander would print `(default: [])`, which says less than the help text. */
function collectHostName(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseHostName(value)];
}

function parseBoolean(value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(normalized)) return false;
  throw new InvalidArgumentError('expected 1/true/yes or 0/false/no');
}

/** One environment variable through the flag's own parser; a bad value is a usage error naming it. */
function fromEnv<T>(io: CliIo, name: string, parse: (value: string) => T): T | undefined {
  const value = io.env[name];
  if (value === undefined || value === '') return undefined;
  try {
    return parse(value);
  } catch (error) {
    throw new UsageError(`${name}=${value}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function settings(flags: ServerFlags, io: CliIo): ServerSettings {
  const envHosts = fromEnv(io, SERVER_ENV.pathStyleHosts, (value) =>
    value
      .split(',')
      .filter((host) => host.trim() !== '')
      .map(parseHostName),
  );
  return {
    region: flags.region ?? fromEnv(io, SERVER_ENV.region, (value) => value) ?? DEFAULT_REGION,
    callbackKeyBits: flags.callbackKeyBits ?? fromEnv(io, SERVER_ENV.callbackKeyBits, parseKeyBits),
    callbackKeyUrl: flags.callbackKeyUrl ?? fromEnv(io, SERVER_ENV.callbackKeyUrl, parseKeyUrl),
    forbidPrivateCallbacks:
      flags.forbidPrivateCallbacks ?? fromEnv(io, SERVER_ENV.forbidPrivateCallbacks, parseBoolean) ?? false,
    unsignedCallbacks:
      flags.unsignedCallbacks ?? fromEnv(io, SERVER_ENV.unsignedCallbacks, parseBoolean) ?? false,
    fsync: !(flags.unsafeNoFsync ?? fromEnv(io, SERVER_ENV.unsafeNoFsync, parseBoolean) ?? false),
    pathStyleHosts: flags.pathStyleHost ?? envHosts ?? [],
    restoreDelayMs:
      flags.restoreDelay ?? fromEnv(io, SERVER_ENV.restoreDelay, parseDuration) ?? DEFAULT_RESTORE_DELAY_MS,
  };
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
    .option(
      '--region <region>',
      `region reported by GetBucketLocation / GetBucketInfo (default: ${DEFAULT_REGION}; env ${SERVER_ENV.region})`,
    )
    .option(
      '--callback-key-bits <bits>',
      `size of a newly generated callback signing key: 1024 (throughput tests), 2048 or 4096 (default: 2048; env ${SERVER_ENV.callbackKeyBits}); a key already in --data is kept`,
      parseKeyBits,
    )
    .option(
      '--callback-key-url <url>',
      `public key URL sent in x-oss-pub-key-url, e.g. ${CANONICAL_CALLBACK_KEY_URL} (default: this server's /callback_pub_key_v1.pem; env ${SERVER_ENV.callbackKeyUrl})`,
      parseKeyUrl,
    )
    .option(
      '--forbid-private-callbacks',
      `refuse callback URLs that are or resolve to private addresses, as OSS does (default: off; env ${SERVER_ENV.forbidPrivateCallbacks}=1)`,
    )
    .option(
      '--unsigned-callbacks',
      `send callbacks without a signature, for app servers that trust the network instead; no verifier accepts them (default: off; env ${SERVER_ENV.unsignedCallbacks}=1)`,
    )
    .option(
      '--unsafe-no-fsync',
      `do not fsync uploaded data before acknowledging it: faster on a real disk, for tests and throwaway data; a power loss can lose or tear recent objects (default: off; env ${SERVER_ENV.unsafeNoFsync}=1)`,
    )
    .option(
      '--path-style-host <host>',
      `host name whose first label is never a bucket: path style only (repeatable; env ${SERVER_ENV.pathStyleHosts}, comma-separated)`,
      collectHostName,
    )
    .option(
      '--restore-delay <duration>',
      `how long a RestoreObject of an Archive/ColdArchive/DeepColdArchive object takes, e.g. 500ms, 2s, 5m (default: 60s; env ${SERVER_ENV.restoreDelay})`,
      parseDuration,
    )
    .addOption(
      new Option('--log-level <level>', 'request log level (stderr)')
        .choices(LOG_LEVELS)
        .default(defaultLogLevel(io)),
    )
    .action((flags: ServerFlags) =>
      runAction(io, async () => {
        const credentials = accessKey(io);
        const chosen = settings(flags, io);
        const dataDir = flags.data === undefined ? undefined : resolve(io.cwd, flags.data);
        const server = await createServer({
          port: flags.port,
          host: flags.host,
          ...(dataDir !== undefined && { dataDir }),
          fsync: chosen.fsync,
          credentials: { [credentials.id]: credentials.secret },
          bucketsToCreate: flags.bucket,
          region: chosen.region,
          pathStyleHosts: chosen.pathStyleHosts,
          restoreDelayMs: chosen.restoreDelayMs,
          logger: pino({ name: 'upcall-server', level: flags.logLevel }, pino.destination(2)),
          callback: {
            keyBits: chosen.callbackKeyBits,
            keyUrl: chosen.callbackKeyUrl,
            forbidPrivateAddresses: chosen.forbidPrivateCallbacks,
            unsigned: chosen.unsignedCallbacks,
          },
        });
        // Handlers first: a script may send SIGTERM the moment it reads the endpoint line.
        stopOn(server, io, signals);
        io.out(banner(server, { ...flags, dataDir }, chosen, credentials));
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
  chosen: ServerSettings,
  key: AccessKeySetting,
): string {
  const lines = [
    `upcall server listening`,
    `endpoint: ${reachableUrl(server.url)}`,
    `region: ${chosen.region}`,
    `data: ${flags.dataDir ?? '(memory only: nothing is kept after exit)'}`,
    `buckets: ${flags.bucket.length > 0 ? flags.bucket.join(', ') : '(none created at start)'}`,
    `AccessKeyId: ${key.id}`,
    key.fromEnv ? 'AccessKeySecret: (from UPCALL_ACCESS_KEY_SECRET)' : `AccessKeySecret: ${key.secret}`,
  ];
  if (reachableUrl(server.url) !== server.url) lines.push(`listening on: ${server.url} (every interface)`);
  const keyUrl = server.callbackService?.keyUrl();
  if (keyUrl !== undefined) lines.push(`callback key URL: ${keyUrl}`);
  if (chosen.forbidPrivateCallbacks) lines.push('private callback addresses: forbidden');
  if (chosen.unsignedCallbacks) lines.push('callbacks: UNSIGNED (app servers cannot verify them)');
  if (!chosen.fsync && flags.dataDir !== undefined) {
    lines.push('fsync: OFF (--unsafe-no-fsync: a power loss can lose recent uploads)');
  }
  if (chosen.pathStyleHosts.length > 0) lines.push(`path-style hosts: ${chosen.pathStyleHosts.join(', ')}`);
  if (!key.fromEnv) {
    lines.push(
      '(default credentials: set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET to choose your own)',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A wildcard bind address (`--host 0.0.0.0` / `::`) is no address to point a client at; on this
 * machine clients reach the server at 127.0.0.1 (as `upcall dev` prints, and as the callback key
 * URL already does).
 */
function reachableUrl(origin: string): string {
  const url = new URL(origin);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
  return url.origin;
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
