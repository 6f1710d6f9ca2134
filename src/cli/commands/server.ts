/**
 * `upcall server --port N --data DIR [--host H] [--bucket NAME]...`: the storage server alone
 * (DESIGN.md "Interfaces other people script against"). Data is kept in `--data` (default
 * `.upcall/data`); `--memory` keeps it in memory only, as an explicit choice (issue 14: a storage
 * server must not lose data by default). Prints `endpoint: <url>` once listening (scripts and
 * tests parse that line) and closes gracefully on SIGINT / SIGTERM.
 *
 * Credentials come from `UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`; else from
 * `<data>/credentials.json` when an earlier start generated one; else, on a loopback address, the
 * built-in defaults, printed so clients can be configured. On any other address the built-in pair
 * (public knowledge) is never used: a random key is generated and kept in `<data>/credentials.json`
 * (its path is printed, not the secret), and a `--memory` server refuses to start without the
 * variables, having nowhere to keep one (issue 14).
 *
 * Region, callback key size / URL, the private-callback refusal, unsigned callbacks, skipping fsync
 * and path-style host names are flags, each also settable from an `UPCALL_…` variable (SERVER_ENV);
 * a flag wins over the variable.
 *
 * Invariant: stdout carries only the banner; request logs go to stderr.
 */
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  CANONICAL_CALLBACK_KEY_URL,
  readCallbackKeyFile,
  type CallbackKeyBits,
} from '../../server/callback/callback-key.ts';
import {
  createServer,
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  DEFAULT_REGION,
  DEFAULT_RESTORE_DELAY_MS,
  type UpcallServer,
} from '../../server/create-server.ts';
import { isValidBucketName } from '../../shared/bucket-name.ts';
import { stopOnSignals, type StopSignals } from '../graceful-stop.ts';
import { parsePort } from '../port-option.ts';
import { DEFAULT_BODY_TIMEOUT_MS } from '../../server/pipeline/http-adapter.ts';
import {
  CALLBACK_LOG_ENV,
  callbackLogSetting,
  parseLogEntries,
  type CallbackLogFlags,
} from '../callback-log-options.ts';
import { parseDuration, parseTimerDuration } from '../duration.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { DEFAULT_DATA_DIR, UsageError } from '../connection.ts';
import { CREDENTIALS_FILE, generateAccessKey, storedAccessKey } from '../dev-credentials.ts';
import { chosenLogLevel, logLevelOption, stderrLogger, verboseOption } from '../log-level.ts';
import { runAction } from '../run-action.ts';
import { fromEnv } from '../env-option.ts';
import {
  GATEWAY_OPTIONS,
  gatewayBannerLine,
  gatewaySetting,
  type GatewayFlags,
  type GatewaySetting,
} from '../gateway-options.ts';

/** Where `upcall server` keeps its data when `--data` is not given (beside `upcall dev`'s). */
export const DEFAULT_SERVER_DATA_DIR = join(DEFAULT_DATA_DIR, 'data');

interface ServerFlags extends CallbackLogFlags, GatewayFlags {
  port: number;
  host: string;
  data?: string;
  memory?: boolean;
  bodyTimeout?: number;
  bucket: string[];
  region?: string;
  callbackKeyBits?: CallbackKeyBits;
  callbackKeyUrl?: string;
  callbackKeyFile?: string;
  forbidPrivateCallbacks?: boolean;
  unsignedCallbacks?: boolean;
  unsafeNoFsync?: boolean;
  minFreeSpace?: number;
  pathStyleHost?: string[];
  restoreDelay?: number;
  logLevel?: string;
  verbose?: boolean;
}

/** The environment variables behind the flags (a flag given on the command line wins). */
export const SERVER_ENV = {
  region: 'UPCALL_REGION',
  callbackKeyBits: 'UPCALL_CALLBACK_KEY_BITS',
  callbackKeyUrl: 'UPCALL_CALLBACK_KEY_URL',
  callbackKeyFile: 'UPCALL_CALLBACK_KEY_FILE',
  forbidPrivateCallbacks: 'UPCALL_FORBID_PRIVATE_CALLBACKS',
  unsignedCallbacks: 'UPCALL_UNSIGNED_CALLBACKS',
  unsafeNoFsync: 'UPCALL_UNSAFE_NO_FSYNC',
  minFreeSpace: 'UPCALL_MIN_FREE_SPACE',
  pathStyleHosts: 'UPCALL_PATH_STYLE_HOSTS',
  bodyTimeout: 'UPCALL_BODY_TIMEOUT',
  restoreDelay: 'UPCALL_RESTORE_DELAY',
} as const;

/** Flags merged with their environment variables, validated. */
interface ServerSettings {
  region: string;
  callbackKeyBits: CallbackKeyBits | undefined;
  callbackKeyUrl: string | undefined;
  /** A PEM the callback key is read from, in place of the one kept in the data dir. */
  callbackKeyFile: string | undefined;
  forbidPrivateCallbacks: boolean;
  unsignedCallbacks: boolean;
  fsync: boolean;
  /** Undefined: the store's default reserve. */
  minFreeBytes: number | undefined;
  pathStyleHosts: string[];
  bodyTimeoutMs: number;
  restoreDelayMs: number;
}

/** `--callback-key-file`, else UPCALL_CALLBACK_KEY_FILE, resolved against the working directory. */
export function callbackKeyFileOf(flag: string | undefined, io: CliIo): string | undefined {
  const path = flag ?? io.env[SERVER_ENV.callbackKeyFile];
  return path === undefined || path === '' ? undefined : resolve(io.cwd, path);
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

/** Seconds, fractions allowed (tests use short ones); at most an hour. */
function parseSeconds(value: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(seconds > 0 && seconds <= 3600))
    throw new InvalidArgumentError('expected seconds, more than 0 and at most 3600');
  return seconds;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/** `536870912`, `512MiB`, `512M`, `1.5GiB`: bytes, or binary units (K, M, G, T, with or without iB). */
function parseByteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = match ? Math.floor(Number(match[1]) * (BYTE_UNITS[match[2]!.toLowerCase()] ?? NaN)) : NaN;
  if (!Number.isSafeInteger(bytes))
    throw new InvalidArgumentError('expected a size such as 512MiB, 2GiB or 0');
  return bytes;
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
    callbackKeyFile: callbackKeyFileOf(flags.callbackKeyFile, io),
    forbidPrivateCallbacks:
      flags.forbidPrivateCallbacks ?? fromEnv(io, SERVER_ENV.forbidPrivateCallbacks, parseBoolean) ?? false,
    unsignedCallbacks:
      flags.unsignedCallbacks ?? fromEnv(io, SERVER_ENV.unsignedCallbacks, parseBoolean) ?? false,
    fsync: !(flags.unsafeNoFsync ?? fromEnv(io, SERVER_ENV.unsafeNoFsync, parseBoolean) ?? false),
    minFreeBytes: flags.minFreeSpace ?? fromEnv(io, SERVER_ENV.minFreeSpace, parseByteSize),
    pathStyleHosts: flags.pathStyleHost ?? envHosts ?? [],
    bodyTimeoutMs: Math.round(
      (flags.bodyTimeout ??
        fromEnv(io, SERVER_ENV.bodyTimeout, parseSeconds) ??
        DEFAULT_BODY_TIMEOUT_MS / 1000) * 1000,
    ),
    restoreDelayMs:
      flags.restoreDelay ??
      fromEnv(io, SERVER_ENV.restoreDelay, parseTimerDuration) ??
      DEFAULT_RESTORE_DELAY_MS,
  };
}

export function serverCommand(io: CliIo = processIo(), signals: StopSignals = process): Command {
  return new Command('server')
    .description('run the OSS-compatible storage server')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', parsePort, 9000)
    .option(
      '--host <host>',
      'address to bind; beyond loopback the built-in credentials are never accepted (set UPCALL_ACCESS_KEY_*, or a random key is kept in the data dir)',
      '127.0.0.1',
    )
    .option(
      '-d, --data <dir>',
      `data directory: objects (blobs + SQLite), callback key, generated credentials (default: ${DEFAULT_SERVER_DATA_DIR})`,
    )
    .option('--memory', 'keep everything in memory instead of a data directory: all of it is lost at exit')
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
      '--callback-key-file <pem>',
      `sign callbacks with the RSA private key in this PEM file instead of the one kept in --data, so several servers share one key (env ${SERVER_ENV.callbackKeyFile})`,
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
      '--body-timeout <seconds>',
      `answer RequestTimeout when an upload body sends nothing for this long (default: ${DEFAULT_BODY_TIMEOUT_MS / 1000}; env ${SERVER_ENV.bodyTimeout})`,
      parseSeconds,
    )
    .option(
      '--min-free-space <size>',
      `free space kept in reserve on the --data file system: uploads stop there with 507 InsufficientStorage, so deletes and aborts always work (default: 512MiB; 0 turns it off; env ${SERVER_ENV.minFreeSpace})`,
      parseByteSize,
    )
    .option(
      '--path-style-host <host>',
      `host name whose first label is never a bucket: path style only (repeatable; env ${SERVER_ENV.pathStyleHosts}, comma-separated)`,
      collectHostName,
    )
    .option(
      '--restore-delay <duration>',
      `how long a RestoreObject of an Archive/ColdArchive/DeepColdArchive object takes, e.g. 500ms, 2s, 5m (default: 60s; env ${SERVER_ENV.restoreDelay})`,
      parseTimerDuration,
    )
    .option(
      '--callback-log-max-age <duration>',
      `drop logged callbacks older than this, e.g. 12h, 7d (default: 7d; env ${CALLBACK_LOG_ENV.maxAge})`,
      parseDuration,
    )
    .option(
      '--callback-log-max-entries <n>',
      `keep at most this many logged callbacks (default: 100000; env ${CALLBACK_LOG_ENV.maxEntries})`,
      parseLogEntries,
    )
    .option('--no-callback-log', 'do not record callbacks (no `upcall callbacks`, no redelivery)')
    .addOption(GATEWAY_OPTIONS.databaseUrl())
    .addOption(GATEWAY_OPTIONS.s3Endpoint())
    .addOption(GATEWAY_OPTIONS.s3Bucket())
    .addOption(GATEWAY_OPTIONS.s3Region())
    .addOption(GATEWAY_OPTIONS.s3PathStyle())
    .addOption(GATEWAY_OPTIONS.gcGrace())
    .addOption(logLevelOption('info'))
    .addOption(verboseOption())
    .action((flags: ServerFlags) =>
      runAction(io, async () => {
        if (flags.memory === true && flags.data !== undefined) {
          throw new UsageError('--memory and --data exclude each other: choose where the data lives');
        }
        const gateway = gatewaySetting(flags, io, {
          data: flags.data !== undefined,
          memory: flags.memory === true,
        });
        const chosen = settings(flags, io);
        const logLevel = chosenLogLevel(flags, io, 'info');
        const dataDir =
          flags.memory === true || gateway !== undefined
            ? undefined
            : resolve(io.cwd, flags.data ?? DEFAULT_SERVER_DATA_DIR);
        const credentials = await accessKey(io, flags.host, dataDir, gateway !== undefined);
        // Read before anything listens: an unreadable or wrong key file stops the start.
        const callbackKey =
          chosen.callbackKeyFile === undefined
            ? undefined
            : await readCallbackKeyFile(chosen.callbackKeyFile);
        const server = await createServer({
          port: flags.port,
          host: flags.host,
          storage:
            gateway !== undefined
              ? { kind: 'gateway', ...gateway }
              : dataDir === undefined
                ? { kind: 'memory' }
                : { kind: 'fs', dataDir, fsync: chosen.fsync, minFreeBytes: chosen.minFreeBytes },
          bodyTimeoutMs: chosen.bodyTimeoutMs,
          credentials: { [credentials.id]: credentials.secret },
          bucketsToCreate: flags.bucket,
          region: chosen.region,
          pathStyleHosts: chosen.pathStyleHosts,
          restoreDelayMs: chosen.restoreDelayMs,
          logger: stderrLogger(logLevel, 'upcall-server'),
          callback: {
            key: callbackKey,
            keyBits: chosen.callbackKeyBits,
            keyUrl: chosen.callbackKeyUrl,
            forbidPrivateAddresses: chosen.forbidPrivateCallbacks,
            unsigned: chosen.unsignedCallbacks,
          },
          callbackLog: callbackLogSetting(flags, io),
        });
        // Handlers first: a script may send SIGTERM the moment it reads the endpoint line.
        stopOn(server, io, signals);
        io.out(banner(server, { ...flags, dataDir, gateway }, chosen, credentials));
      }),
    );
}

interface AccessKeySetting {
  id: string;
  secret: string;
  /** env: the variables; file: `<data>/credentials.json` (generated now or earlier); default: built in. */
  source: 'env' | 'file' | 'default';
  /** The credentials file, when `source` is `file`. */
  file?: string;
  /** Generated by this start. */
  generated?: boolean;
}

/** Loopback addresses only: anything else (0.0.0.0, ::, a LAN address, a name) may be reached from elsewhere. */
function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || /^::ffff:127\./i.test(bare);
}

async function accessKey(
  io: CliIo,
  host: string,
  dataDir: string | undefined,
  gateway: boolean,
): Promise<AccessKeySetting> {
  const id = io.env['UPCALL_ACCESS_KEY_ID'];
  const secret = io.env['UPCALL_ACCESS_KEY_SECRET'];
  if ((id === undefined || id === '') !== (secret === undefined || secret === '')) {
    throw new UsageError('set both UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET, or neither');
  }
  if (id !== undefined && id !== '' && secret !== undefined) return { id, secret, source: 'env' };
  const file = dataDir === undefined ? undefined : join(dataDir, CREDENTIALS_FILE);
  // A key generated by an earlier start stays in use, wherever the server listens now.
  const stored = dataDir === undefined ? undefined : await storedAccessKey(dataDir);
  if (stored !== undefined && file !== undefined) {
    return { id: stored.accessKeyId, secret: stored.accessKeySecret, source: 'file', file };
  }
  if (isLoopbackHost(host)) {
    return { id: DEFAULT_ACCESS_KEY_ID, secret: DEFAULT_ACCESS_KEY_SECRET, source: 'default' };
  }
  // Beyond loopback the built-in pair would let anyone who can reach the port in.
  if (gateway) {
    // A key generated here would be this gateway's alone: every gateway must accept the same one.
    throw new UsageError(
      `--host ${host} can be reached from other machines: set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET, ` +
        'the same on every gateway (the built-in default key is public)',
    );
  }
  if (dataDir === undefined || file === undefined) {
    throw new UsageError(
      `--host ${host} can be reached from other machines: set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET ` +
        '(the built-in default key is public), or drop --memory so a random key is generated and kept in the data directory',
    );
  }
  const generated = await generateAccessKey(dataDir);
  return {
    id: generated.accessKeyId,
    secret: generated.accessKeySecret,
    source: 'file',
    file,
    generated: true,
  };
}

function banner(
  server: UpcallServer,
  flags: Omit<ServerFlags, 'data'> & { dataDir: string | undefined; gateway: GatewaySetting | undefined },
  chosen: ServerSettings,
  key: AccessKeySetting,
): string {
  const lines = [
    `upcall server listening`,
    `endpoint: ${reachableUrl(server.url)}`,
    `region: ${chosen.region}`,
    flags.gateway === undefined
      ? `data: ${flags.dataDir ?? '(memory only, --memory: nothing is kept after exit)'}`
      : gatewayBannerLine(flags.gateway),
    `buckets: ${flags.bucket.length > 0 ? flags.bucket.join(', ') : '(none created at start)'}`,
    `AccessKeyId: ${key.id}`,
    key.source === 'env'
      ? 'AccessKeySecret: (from UPCALL_ACCESS_KEY_SECRET)'
      : key.source === 'file'
        ? `AccessKeySecret: (in ${key.file ?? CREDENTIALS_FILE})`
        : `AccessKeySecret: ${key.secret}`,
  ];
  if (reachableUrl(server.url) !== server.url) lines.push(`listening on: ${server.url} (every interface)`);
  const keyUrl = server.callbackService?.keyUrl();
  if (keyUrl !== undefined) lines.push(`callback key URL: ${keyUrl}`);
  if (chosen.callbackKeyFile !== undefined) lines.push(`callback key: ${chosen.callbackKeyFile}`);
  if (chosen.forbidPrivateCallbacks) lines.push('private callback addresses: forbidden');
  if (chosen.unsignedCallbacks) lines.push('callbacks: UNSIGNED (app servers cannot verify them)');
  if (!chosen.fsync && flags.dataDir !== undefined) {
    lines.push('fsync: OFF (--unsafe-no-fsync: a power loss can lose recent uploads)');
  }
  if (chosen.pathStyleHosts.length > 0) lines.push(`path-style hosts: ${chosen.pathStyleHosts.join(', ')}`);
  if (key.source === 'default') {
    lines.push(
      '(default credentials: set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET to choose your own)',
    );
  }
  if (key.generated === true) {
    lines.push(
      '(generated credentials: this address can be reached from other machines, so the built-in default key is not accepted)',
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

/** Stop accepting, finish in-flight requests, close the store (graceful-stop.ts). */
function stopOn(server: UpcallServer, io: CliIo, signals: StopSignals): void {
  stopOnSignals(signals, () => {
    io.err('upcall server: stopping\n');
    return server.close().then(
      () => io.err('upcall server: stopped\n'),
      (error: unknown) => {
        io.err(`upcall server: error while stopping: ${String(error)}\n`);
        io.setExitCode(1);
      },
    );
  });
}
