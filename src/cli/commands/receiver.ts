/**
 * `upcall receiver --port N --data DIR [--allow-key-url KEY_URL]...`: the receiver app alone
 * (DESIGN.md "Interfaces other people script against"; docs/receiver.md): verifies OSS upload
 * callbacks, records them in `<data>/receiver.sqlite`, serves the REST API (`/api/uploads`) and
 * the dashboard. Prints `callback URL: <url>` and `dashboard: <url>` once listening (scripts and
 * tests parse those lines) and closes gracefully on SIGINT / SIGTERM.
 *
 * With `--storage-endpoint`, `--bucket` and the root key in `UPCALL_ACCESS_KEY_ID` /
 * `UPCALL_ACCESS_KEY_SECRET` (what `upcall server` reads) it also issues temporary credentials and
 * post policies (`/sts`, `/api/sts`, `/api/post-policy`, credential-endpoints.ts) bound to its own
 * callback URL (`--public-url` + the callback path, default the bound address), and its dashboard
 * shows thumbnails through presigned GETs: the browser demo works without `upcall dev`.
 *
 * Invariants: callback keys are fetched only from the allowlisted key URLs (default: the official
 * OSS key host, SPEC.md §1.2; key-url-allowlist.ts), or never when a key is pinned with
 * --public-key; it never binds beyond loopback with the records API open (--api-token /
 * UPCALL_RECEIVER_TOKEN, or an explicit --insecure-no-token).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createReceiver, type Receiver } from '../../receiver/app/create-receiver.ts';
import type { ReceiverCredentials } from '../../receiver/app/credential-endpoints.ts';
import { DEMO_CALLBACK_BODY } from '../../receiver/dashboard/demo-callback-body.ts';
import { isLoopbackHost } from '../../receiver/app/request-guard.ts';
import { mountDashboard } from '../../receiver/dashboard/mount-dashboard.ts';
import { createKeyUrlAllowlist, DEFAULT_KEY_URL_ALLOWLIST } from 'upcall-verify';
import { stopOnSignals, type StopSignals } from '../graceful-stop.ts';
import { parsePort } from '../port-option.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { UsageError } from '../connection.ts';
import { chosenLogLevel, logLevelOption, stderrLogger, verboseOption } from '../log-level.ts';
import { runAction } from '../run-action.ts';

/** The same port `upcall dev` gives its receiver. */
export const DEFAULT_RECEIVER_PORT = 9100;
export const DEFAULT_RECEIVER_DATA_DIR = '.upcall/receiver';
/** The environment variable behind --allow-key-url (comma-separated); the flag wins. */
export const ALLOW_KEY_URLS_ENV = 'UPCALL_ALLOW_KEY_URLS';
/** The environment variable behind --api-token (preferred: a flag shows in `ps`). */
export const RECEIVER_TOKEN_ENV = 'UPCALL_RECEIVER_TOKEN';
/** The environment variable behind --allowed-host (comma-separated); the flag wins. */
export const ALLOWED_HOSTS_ENV = 'UPCALL_RECEIVER_ALLOWED_HOSTS';
/** The environment variables behind --storage-endpoint, --bucket and --public-url; the flags win. */
export const STORAGE_ENDPOINT_ENV = 'UPCALL_STORAGE_ENDPOINT';
export const BUCKET_ENV = 'UPCALL_BUCKET';
export const PUBLIC_URL_ENV = 'UPCALL_RECEIVER_PUBLIC_URL';
/** The environment variable behind --database-url (preferred: a URL with a password shows in `ps`). */
export const DATABASE_URL_ENV = 'UPCALL_DATABASE_URL';
/** The environment variable behind --forward-to (comma-separated); the flag wins. */
export const FORWARD_TO_ENV = 'UPCALL_FORWARD_TO';
/** The user id the browser demo asks credentials for (`?user=demo`): its uploads go under `uploads/demo/`. */
const DEMO_USER = 'demo';
/** How long in-flight requests get to finish on a stop before connections are cut. */
const CLOSE_GRACE_MS = 2000;

interface ReceiverFlags {
  port: number;
  host: string;
  data: string;
  allowKeyUrl?: string[];
  publicKey?: string;
  callbackPath: string;
  recordRejected: boolean;
  apiToken?: string;
  insecureNoToken?: boolean;
  allowedHost?: string[];
  storageEndpoint?: string;
  bucket?: string;
  publicUrl?: string;
  databaseUrl?: string;
  forwardTo?: string[];
  logLevel?: string;
  verbose?: boolean;
}

function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as http://127.0.0.1:9000, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`expected an http:// or https:// URL, got "${value}"`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(
      `expected an origin without a path, such as ${url.origin}, got "${value}"`,
    );
  }
  return url.origin;
}

function originFromEnv(io: CliIo, name: string): string | undefined {
  const value = io.env[name];
  if (value === undefined || value.trim() === '') return undefined;
  try {
    return parseOrigin(value.trim());
  } catch (error) {
    throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * What the credential endpoints and the dashboard's previews need, from flags and environment:
 * undefined when no storage endpoint is given (the receiver then only receives callbacks).
 */
function storageOf(
  flags: ReceiverFlags,
  io: CliIo,
): { endpoint: string; bucket: string; accessKeyId: string; accessKeySecret: string } | undefined {
  const endpoint = flags.storageEndpoint ?? originFromEnv(io, STORAGE_ENDPOINT_ENV);
  if (endpoint === undefined) return undefined;
  const bucket = flags.bucket ?? io.env[BUCKET_ENV];
  if (bucket === undefined || bucket.trim() === '') {
    throw new UsageError(
      `--storage-endpoint needs the bucket uploads go to: --bucket NAME (or ${BUCKET_ENV})`,
    );
  }
  const accessKeyId = io.env['UPCALL_ACCESS_KEY_ID'];
  const accessKeySecret = io.env['UPCALL_ACCESS_KEY_SECRET'];
  if (!accessKeyId || !accessKeySecret) {
    // Never a flag for the secret: it would show in `ps` and shell history.
    throw new UsageError(
      '--storage-endpoint needs the root key to sign with in UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET (the pair upcall server accepts; upcall keys prints it)',
    );
  }
  return { endpoint, bucket: bucket.trim(), accessKeyId, accessKeySecret };
}

/** Validated as the receiver will use it, so a bad entry (or a refused prefix) fails at parse time. */
function parseKeyUrlPrefix(value: string): string {
  try {
    createKeyUrlAllowlist([value]);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

/** No default list: commander would print `(default: [])`, which says less than the help text. */
function collectKeyUrlPrefix(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseKeyUrlPrefix(value)];
}

function collectHost(value: string, previous: string[] | undefined): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('expected a host name');
  return [...(previous ?? []), value.trim()];
}

function apiTokenOf(flags: ReceiverFlags, io: CliIo): string | undefined {
  const token = flags.apiToken ?? io.env[RECEIVER_TOKEN_ENV];
  if (token === undefined) return undefined;
  if (token.trim() === '') throw new UsageError(`--api-token / ${RECEIVER_TOKEN_ENV} must not be empty`);
  return token;
}

function allowedHostsOf(flags: ReceiverFlags, io: CliIo): string[] | undefined {
  if (flags.allowedHost !== undefined) return flags.allowedHost;
  const names = (io.env[ALLOWED_HOSTS_ENV] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return names.length === 0 ? undefined : names;
}

function parseDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      'expected a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/app',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidArgumentError(`expected a postgres:// or postgresql:// URL, got "${url.protocol}"`);
  }
  return value;
}

function databaseUrlOf(flags: ReceiverFlags, io: CliIo): string | undefined {
  if (flags.databaseUrl !== undefined) return flags.databaseUrl;
  const fromEnv = io.env[DATABASE_URL_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') return undefined;
  try {
    return parseDatabaseUrl(fromEnv.trim());
  } catch (error) {
    throw new UsageError(`${DATABASE_URL_ENV}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The URL without its password, for the banner. */
function shownDatabaseUrl(value: string): string {
  const url = new URL(value);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

function parseForwardUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as http://127.0.0.1:8080/uploads, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`expected an http:// or https:// URL, got "${value}"`);
  }
  return url.toString();
}

function collectForwardUrl(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseForwardUrl(value)];
}

function forwardToOf(flags: ReceiverFlags, io: CliIo): string[] {
  if (flags.forwardTo !== undefined) return flags.forwardTo;
  return (io.env[FORWARD_TO_ENV] ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map((url) => {
      try {
        return parseForwardUrl(url);
      } catch (error) {
        throw new UsageError(`${FORWARD_TO_ENV}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
}

function parseCallbackPath(value: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/.test(value)) {
    throw new InvalidArgumentError('expected an absolute path such as /callback');
  }
  return value;
}

function keyUrlAllowlist(flags: ReceiverFlags, io: CliIo): readonly string[] {
  if (flags.allowKeyUrl !== undefined) return flags.allowKeyUrl;
  const fromEnv = io.env[ALLOW_KEY_URLS_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') return DEFAULT_KEY_URL_ALLOWLIST;
  return fromEnv
    .split(',')
    .map((prefix) => prefix.trim())
    .filter((prefix) => prefix !== '')
    .map((prefix) => {
      try {
        return parseKeyUrlPrefix(prefix);
      } catch (error) {
        throw new UsageError(
          `${ALLOW_KEY_URLS_ENV}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
}

export function receiverCommand(io: CliIo = processIo(), signals: StopSignals = process): Command {
  return new Command('receiver')
    .description('run the receiver app (verifies, records and answers upload callbacks; REST API, dashboard)')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', parsePort, DEFAULT_RECEIVER_PORT)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-d, --data <dir>', 'where upload records live (receiver.sqlite)', DEFAULT_RECEIVER_DATA_DIR)
    .option(
      '--allow-key-url <url>',
      `exact key URL callback public keys may be fetched from (repeatable; default: the official ${DEFAULT_KEY_URL_ALLOWLIST.join(' ')}; env ${ALLOW_KEY_URLS_ENV}, comma-separated). For upcall server give its key URL, e.g. http://127.0.0.1:9000/callback_pub_key_v1.pem (a bare origin means that); prefixes ending in / are refused: they would trust any PEM a user uploads there`,
      collectKeyUrlPrefix,
    )
    .option('--public-key <file>', 'pin the callback public key (PEM file): nothing is ever fetched')
    .option('--callback-path <path>', 'path OSS posts callbacks to', parseCallbackPath, '/callback')
    .option(
      '--no-record-rejected',
      'do not record refused callbacks (by default the newest 1000 are kept, 4 KiB of body each)',
    )
    .option(
      '--api-token <token>',
      `require this token (Authorization: Bearer, or the dashboard's sign-in) on the records API and dashboard; needed to bind beyond loopback (env ${RECEIVER_TOKEN_ENV}, preferred)`,
    )
    .option(
      '--allowed-host <name>',
      `a host name the receiver is reached by besides localhost and IP addresses, e.g. its public name (repeatable; env ${ALLOWED_HOSTS_ENV}, comma-separated; * accepts any)`,
      collectHost,
    )
    .option(
      '--insecure-no-token',
      'bind beyond loopback without --api-token: anyone who reaches it reads every record',
    )
    .option(
      '--storage-endpoint <url>',
      `the storage server as clients reach it, e.g. http://127.0.0.1:9000: enables /sts, /api/post-policy, the browser demo and thumbnails (env ${STORAGE_ENDPOINT_ENV}; the root key comes from UPCALL_ACCESS_KEY_ID / UPCALL_ACCESS_KEY_SECRET)`,
      parseOrigin,
    )
    .option('--bucket <name>', `the bucket issued credentials and policies write to (env ${BUCKET_ENV})`)
    .option(
      '--public-url <url>',
      `this receiver's origin as the storage server reaches it; callbacks are bound to <url><callback path> (env ${PUBLIC_URL_ENV}; default: the bound address)`,
      parseOrigin,
    )
    .option(
      '--database-url <url>',
      `keep records and hook jobs in PostgreSQL (postgres://user:password@host:5432/db) instead of SQLite in --data; every receiver pointed at one database shares them (env ${DATABASE_URL_ENV}, preferred: a flag shows in \`ps\`)`,
      parseDatabaseUrl,
    )
    .option(
      '--forward-to <url>',
      `POST each verified upload's record as JSON to this URL, with an Idempotency-Key header, retried with backoff until it answers 2xx (repeatable; env ${FORWARD_TO_ENV}, comma-separated)`,
      collectForwardUrl,
    )
    .addOption(logLevelOption('info'))
    .addOption(verboseOption())
    .action((flags: ReceiverFlags) =>
      runAction(io, async () => {
        if (flags.publicKey !== undefined && flags.allowKeyUrl !== undefined) {
          throw new UsageError('--public-key and --allow-key-url exclude each other');
        }
        const publicKey =
          flags.publicKey === undefined
            ? undefined
            : await readFile(resolve(io.cwd, flags.publicKey), 'utf8');
        const allowlist = publicKey === undefined ? keyUrlAllowlist(flags, io) : undefined;
        const apiToken = apiTokenOf(flags, io);
        if (apiToken === undefined && flags.insecureNoToken !== true && !isLoopbackHost(flags.host)) {
          throw new UsageError(
            `--host ${flags.host} would serve every upload record and the dashboard to anyone who reaches it: set ${RECEIVER_TOKEN_ENV} (or --api-token), bind 127.0.0.1, or pass --insecure-no-token`,
          );
        }
        const logLevel = chosenLogLevel(flags, io, 'info');
        const dataDir = resolve(io.cwd, flags.data);
        const databaseUrl = databaseUrlOf(flags, io);
        const forwardTo = forwardToOf(flags, io);
        const storage = storageOf(flags, io);
        const publicUrl = flags.publicUrl ?? originFromEnv(io, PUBLIC_URL_ENV);
        // The receiver is reached by its public name: the Host check must let that name in.
        const named = allowedHostsOf(flags, io);
        const allowedHosts =
          publicUrl === undefined ? named : [...(named ?? []), new URL(publicUrl).hostname];
        const credentials: ReceiverCredentials | undefined =
          storage === undefined
            ? undefined
            : {
                ...storage,
                // The demo page's x: variables are part of the template, so they reach the record.
                callbackBody: DEMO_CALLBACK_BODY,
                ...(publicUrl === undefined ? {} : { callbackUrl: `${publicUrl}${flags.callbackPath}` }),
              };
        let callbackUrl = '';
        const receiver = await createReceiver({
          ...(databaseUrl === undefined ? { dataDir } : { databaseUrl }),
          ...(forwardTo.length === 0
            ? {}
            : {
                forwardTo,
                // "Until the target answers 2xx": no attempt is the last, the delay is capped (5 min).
                hooks: { retry: { maxAttempts: Number.POSITIVE_INFINITY } },
              }),
          port: flags.port,
          host: flags.host,
          callbackPath: flags.callbackPath,
          recordRejected: flags.recordRejected,
          ...(apiToken === undefined ? {} : { apiToken }),
          ...(flags.insecureNoToken === true ? { insecureNoToken: true } : {}),
          ...(allowedHosts === undefined ? {} : { allowedHosts }),
          logger: stderrLogger(logLevel, 'upcall-receiver'),
          ...(publicKey === undefined ? { keyUrlAllowlist: allowlist ?? [] } : { publicKey }),
          ...(credentials === undefined ? {} : { credentials }),
          routes: (app) =>
            mountDashboard(app, () => ({
              callbackUrl,
              ...(storage === undefined ? {} : { storage, demoPrefix: `uploads/${DEMO_USER}/` }),
            })),
        });
        let origin: string;
        try {
          origin = reachable(await receiver.listen());
        } catch (error) {
          await receiver.close();
          throw error;
        }
        callbackUrl = `${publicUrl ?? origin}${flags.callbackPath}`;
        // Handlers first: a script may send SIGTERM the moment it reads the banner.
        stopOn(receiver, io, signals);
        io.out(
          [
            'upcall receiver listening',
            `callback URL: ${callbackUrl}`,
            `dashboard: ${origin}/dashboard`,
            `uploads API: ${origin}/api/uploads`,
            databaseUrl === undefined ? `data: ${dataDir}` : `database: ${shownDatabaseUrl(databaseUrl)}`,
            ...forwardTo.map((url) => `forward to: ${url}`),
            apiToken === undefined
              ? `api token: none (the records API and dashboard are open to whoever reaches ${flags.host})`
              : `api token: required (Authorization: Bearer <token>, or open ${origin}/dashboard#token=<token>)`,
            storage === undefined
              ? `credentials: off (--storage-endpoint, --bucket and UPCALL_ACCESS_KEY_ID / UPCALL_ACCESS_KEY_SECRET enable /sts, /api/post-policy and ${origin}/demo)`
              : `credentials: ${origin}/sts and ${origin}/api/post-policy for bucket ${storage.bucket} at ${storage.endpoint}; browser demo: ${origin}/demo`,
            publicKey === undefined
              ? `trusted key URLs: ${createKeyUrlAllowlist(allowlist ?? []).describe.join(', ')}`
              : `pinned public key: ${resolve(io.cwd, flags.publicKey ?? '')}`,
            '',
          ].join('\n'),
        );
      }),
    );
}

/** A wildcard bind address is not one to hand out; on this machine clients reach 127.0.0.1. */
function reachable(origin: string): string {
  const url = new URL(origin);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
  return url.origin;
}

/** Stop accepting, let in-flight callbacks finish, close the database (graceful-stop.ts). */
function stopOn(receiver: Receiver, io: CliIo, signals: StopSignals): void {
  stopOnSignals(signals, () => {
    io.err('upcall receiver: stopping\n');
    // A keep-alive client (the storage server's callback pool, a browser) must not hold the stop.
    const cut = setTimeout(() => receiver.app.server.closeAllConnections(), CLOSE_GRACE_MS);
    cut.unref();
    return receiver.close().then(
      () => {
        clearTimeout(cut);
        io.err('upcall receiver: stopped\n');
      },
      (error: unknown) => {
        io.err(`upcall receiver: error while stopping: ${String(error)}\n`);
        io.setExitCode(1);
      },
    );
  });
}
