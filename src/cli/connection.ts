/**
 * Which storage server and credentials a CLI command uses, resolved in this order:
 * 1. flags `--endpoint`, `--access-key-id`, `--access-key-secret`, `--security-token`;
 * 2. environment `UPCALL_ENDPOINT`, `UPCALL_ACCESS_KEY_ID`, `UPCALL_ACCESS_KEY_SECRET`,
 *    `UPCALL_SECURITY_TOKEN` (the names `upcall server` reads, DESIGN.md);
 * 3. the session file `upcall dev` writes (`<data dir>/dev-session.json`, data dir from `--data`,
 *    `UPCALL_DATA` or `.upcall`), so a second terminal next to `npm start` needs no setup.
 * Invariant: a missing endpoint or key is a clear usage error naming all three sources, and an
 * endpoint without `http://` or `https://` is refused before any request, with the fix spelled out.
 * `connect` remembers, per CliIo, where the endpoint and secret came from, so a failure later
 * (connection refused, wrong secret) can say which setting to change (run-action.ts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { OssClient } from '../client/oss-client.ts';
import type { CliIo } from './cli-io.ts';

export const DEFAULT_DATA_DIR = '.upcall';
export const DEV_SESSION_FILE = 'dev-session.json';

/** What `upcall dev` records for other commands and tools (written once it is listening). */
export interface DevSession {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  callbackUrl: string;
  dashboardUrl: string;
  receiverUrl: string;
  keyUrl: string;
  pid: number;
}

export interface ConnectionFlags {
  endpoint?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  data?: string;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'storage server, e.g. http://127.0.0.1:9000 (env UPCALL_ENDPOINT)')
    .option('--access-key-id <id>', 'access key id (env UPCALL_ACCESS_KEY_ID)')
    .option('--access-key-secret <secret>', 'access key secret (env UPCALL_ACCESS_KEY_SECRET)')
    .option('--security-token <token>', 'security token of temporary credentials (env UPCALL_SECURITY_TOKEN)')
    .option(
      '--data <dir>',
      `where to find a running \`upcall dev\` session (env UPCALL_DATA, default ${DEFAULT_DATA_DIR})`,
    );
}

export function readDevSession(io: CliIo, dataDir?: string): DevSession | undefined {
  const dir = resolve(io.cwd, dataDir ?? io.env['UPCALL_DATA'] ?? DEFAULT_DATA_DIR);
  try {
    return JSON.parse(readFileSync(join(dir, DEV_SESSION_FILE), 'utf8')) as DevSession;
  } catch {
    return undefined;
  }
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the connection's settings came from, in words a user can act on. */
export interface ConnectionOrigin {
  endpoint: string;
  endpointFrom: string;
  accessKeyIdFrom: string;
  accessKeySecretFrom: string;
  /** The running `upcall dev` session, when one was found (its endpoint is the storage server). */
  session: DevSession | undefined;
}

const origins = new WeakMap<CliIo, ConnectionOrigin>();

/** What `connect` resolved for this io, if it ran. */
export function connectionOrigin(io: CliIo): ConnectionOrigin | undefined {
  return origins.get(io);
}

function pick(
  flag: [string, string | undefined],
  env: [string, string | undefined],
  session: [string, string | undefined],
): [string | undefined, string] {
  // An empty setting (`UPCALL_ENDPOINT=`) counts as unset, as shells make it easy to leave one so.
  for (const [from, value] of [flag, env, session])
    if (value !== undefined && value !== '') return [value, from];
  return [undefined, ''];
}

export function connect(flags: ConnectionFlags, io: CliIo): OssClient {
  const sessionDir = resolve(io.cwd, flags.data ?? io.env['UPCALL_DATA'] ?? DEFAULT_DATA_DIR);
  const session = readDevSession(io, flags.data);
  const sessionFrom = `the \`upcall dev\` session file ${join(sessionDir, DEV_SESSION_FILE)}`;
  const [endpoint, endpointFrom] = pick(
    ['--endpoint', flags.endpoint],
    ['environment variable UPCALL_ENDPOINT', io.env['UPCALL_ENDPOINT']],
    [sessionFrom, session?.endpoint],
  );
  const [accessKeyId, accessKeyIdFrom] = pick(
    ['--access-key-id', flags.accessKeyId],
    ['environment variable UPCALL_ACCESS_KEY_ID', io.env['UPCALL_ACCESS_KEY_ID']],
    [sessionFrom, session?.accessKeyId],
  );
  const [accessKeySecret, accessKeySecretFrom] = pick(
    ['--access-key-secret', flags.accessKeySecret],
    ['environment variable UPCALL_ACCESS_KEY_SECRET', io.env['UPCALL_ACCESS_KEY_SECRET']],
    [sessionFrom, session?.accessKeySecret],
  );
  const securityToken = flags.securityToken ?? io.env['UPCALL_SECURITY_TOKEN'];
  if (endpoint === undefined || accessKeyId === undefined || accessKeySecret === undefined) {
    throw new UsageError(
      'No storage server configured. Start one with `npm start` (upcall dev) in this directory, ' +
        'or pass --endpoint/--access-key-id/--access-key-secret, ' +
        'or set UPCALL_ENDPOINT, UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET.',
    );
  }
  checkEndpoint(endpoint, endpointFrom);
  origins.set(io, { endpoint, endpointFrom, accessKeyIdFrom, accessKeySecretFrom, session });
  return new OssClient({ endpoint, accessKeyId, accessKeySecret, securityToken });
}

/** @throws UsageError unless `endpoint` is an http(s) URL, e.g. `127.0.0.1:9000` without a scheme */
function checkEndpoint(endpoint: string, from: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new UsageError(
      `the endpoint ${JSON.stringify(endpoint)} (from ${from}) has no scheme; ` +
        `write it as http://${endpoint} (or https:// for a TLS server).`,
    );
  }
  let valid = scheme === 'http' || scheme === 'https';
  if (valid) {
    try {
      new URL(endpoint);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new UsageError(
      `the endpoint ${JSON.stringify(endpoint)} (from ${from}) is not an http:// or https:// URL, ` +
        'e.g. http://127.0.0.1:9000.',
    );
  }
}
