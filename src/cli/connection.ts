/**
 * Which storage server and credentials a CLI command uses, resolved in this order:
 * 1. flags `--endpoint`, `--access-key-id`, `--access-key-secret`, `--security-token`;
 * 2. environment `UPCALL_ENDPOINT`, `UPCALL_ACCESS_KEY_ID`, `UPCALL_ACCESS_KEY_SECRET`,
 *    `UPCALL_SECURITY_TOKEN` (the names `upcall server` reads, DESIGN.md);
 * 3. the session file `upcall dev` writes (`<data dir>/dev-session.json`, data dir from `--data`,
 *    `UPCALL_DATA` or `.upcall`), so a second terminal next to `npm start` needs no setup.
 * Invariant: a missing endpoint or key is a clear usage error naming all three sources.
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

export function connect(flags: ConnectionFlags, io: CliIo): OssClient {
  const session = readDevSession(io, flags.data);
  const endpoint = flags.endpoint ?? io.env['UPCALL_ENDPOINT'] ?? session?.endpoint;
  const accessKeyId = flags.accessKeyId ?? io.env['UPCALL_ACCESS_KEY_ID'] ?? session?.accessKeyId;
  const accessKeySecret =
    flags.accessKeySecret ?? io.env['UPCALL_ACCESS_KEY_SECRET'] ?? session?.accessKeySecret;
  const securityToken = flags.securityToken ?? io.env['UPCALL_SECURITY_TOKEN'];
  if (endpoint === undefined || accessKeyId === undefined || accessKeySecret === undefined) {
    throw new UsageError(
      'No storage server configured. Start one with `npm start` (upcall dev) in this directory, ' +
        'or pass --endpoint/--access-key-id/--access-key-secret, ' +
        'or set UPCALL_ENDPOINT, UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET.',
    );
  }
  return new OssClient({ endpoint, accessKeyId, accessKeySecret, securityToken });
}
