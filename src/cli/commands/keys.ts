/**
 * `upcall keys`: shows the keys a local setup runs on, or rotates the callback signing key.
 * - the callback key (SPEC.md §1.2): the RSA key the storage server signs callbacks with, kept in
 *   its data dir; shown as size, SHA-256 fingerprint of the public key, key URL and public PEM;
 * - the access key the CLI would use (from flags, env or the `upcall dev` session), secret masked
 *   unless `--show-secret`.
 * `--rotate` keeps the old key as a `.bak` file and generates a new one. Invariant: rotation
 * never leaves the data dir without a key file, and says plainly that the storage server must be
 * restarted and that app servers that cached the old public key must drop it (the docs promise
 * the key never changes, so verifiers cache it forever).
 *
 * The data-dir key is not always the one in use, and `keys` reads the same flags and environment
 * as `upcall server` to tell: with `--callback-key-file` (UPCALL_CALLBACK_KEY_FILE) it shows that
 * file's key and refuses to rotate it (the operator owns that file; a rotated data-dir key would
 * sign nothing); with `--database-url` (UPCALL_DATABASE_URL, gateway mode) the key lives in
 * PostgreSQL, so it says so and neither shows nor rotates a data-dir key.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { access, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  CALLBACK_KEY_FILE,
  loadCallbackKey,
  readCallbackKeyFile,
  type CallbackKey,
  type CallbackKeyBits,
} from '../../server/callback/callback-key.ts';
import { GATEWAY_ENV } from '../gateway-options.ts';
import { callbackKeyFileOf, SERVER_ENV } from './server.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { DEFAULT_DATA_DIR, readDevSession, UsageError } from '../connection.ts';
import { runAction } from '../run-action.ts';

interface KeysFlags {
  data?: string;
  rotate?: boolean;
  bits?: CallbackKeyBits;
  showSecret?: boolean;
  pem?: boolean;
  callbackKeyFile?: string;
  databaseUrl?: string;
}

/** Where `upcall dev` keeps the storage server's data inside its data dir. */
export const DEV_STORAGE_SUBDIR = 'storage';

function parseBits(value: string): CallbackKeyBits {
  const bits = Number(value);
  if (bits === 1024 || bits === 2048 || bits === 4096) return bits;
  throw new InvalidArgumentError('expected 1024, 2048 or 4096');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Where `upcall server` keeps its data inside DIR when started without `--data` (`.upcall/data`). */
const SERVER_DEFAULT_SUBDIR = 'data';

/**
 * The storage data dir: DIR itself (`upcall server --data DIR`), DIR/storage (`upcall dev`) or
 * DIR/data (`upcall server` without `--data`), whichever holds a key; DIR/storage when none does.
 */
async function storageDir(io: CliIo, data: string | undefined): Promise<string> {
  const root = resolve(io.cwd, data ?? io.env['UPCALL_DATA'] ?? DEFAULT_DATA_DIR);
  for (const dir of [root, join(root, DEV_STORAGE_SUBDIR), join(root, SERVER_DEFAULT_SUBDIR)]) {
    if (await exists(join(dir, CALLBACK_KEY_FILE))) return dir;
  }
  return join(root, DEV_STORAGE_SUBDIR);
}

export function fingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}

export function keysCommand(io: CliIo = processIo()): Command {
  const command = new Command('keys')
    .description('show the callback signing key and access key, or rotate the callback key')
    .option(
      '--data <dir>',
      `data dir of upcall dev or upcall server (env UPCALL_DATA, default ${DEFAULT_DATA_DIR})`,
    )
    .option('--rotate', 'replace the callback signing key (the old one is kept as .bak)')
    .option('--bits <n>', 'size of a newly generated key: 1024, 2048 or 4096', parseBits)
    .option('--show-secret', 'print the access key secret instead of masking it')
    .option('--pem', 'print only the public key PEM (for pinning it in an app server)')
    .option(
      '--callback-key-file <pem>',
      `the key file upcall server signs with (env ${SERVER_ENV.callbackKeyFile}): shown, never rotated`,
    )
    .option(
      '--database-url <url>',
      `gateway mode (env ${GATEWAY_ENV.databaseUrl}): the key is in PostgreSQL, not in a data dir`,
    );
  command.action((flags: KeysFlags) =>
    runAction(io, async () => {
      const keyFileFlag = callbackKeyFileOf(flags.callbackKeyFile, io);
      if (keyFileFlag !== undefined) {
        if (flags.rotate) {
          throw new UsageError(
            `the callback key in use is ${keyFileFlag} (--callback-key-file / ${SERVER_ENV.callbackKeyFile}); ` +
              'upcall does not rotate a key file it does not own: replace that file and restart every server that reads it',
          );
        }
        const key = await readCallbackKeyFile(keyFileFlag);
        showKey(io, flags, key, `${keyFileFlag} (--callback-key-file; the data-dir key is not used)`);
        return;
      }
      const databaseUrl = flags.databaseUrl ?? emptyAsUndefined(io.env[GATEWAY_ENV.databaseUrl]);
      if (databaseUrl !== undefined) {
        const from = flags.databaseUrl !== undefined ? '--database-url' : GATEWAY_ENV.databaseUrl;
        throw new UsageError(
          `${from} is set: in gateway mode the callback key is kept in PostgreSQL and shared by every ` +
            `gateway, not in a data dir, so upcall keys can neither show nor rotate it. ` +
            'Fetch the public key from a gateway at /callback_pub_key_v1.pem; to choose the key, start every ' +
            `gateway with --callback-key-file (${SERVER_ENV.callbackKeyFile}).`,
        );
      }
      const dir = await storageDir(io, flags.data);
      const keyFile = join(dir, CALLBACK_KEY_FILE);
      const hadKey = await exists(keyFile);
      if (flags.rotate) {
        if (!hadKey)
          throw new UsageError(`no callback key at ${keyFile} yet; start the server once (npm start) first`);
        const backup = `${keyFile}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
        const old = await loadCallbackKey(dir);
        await rename(keyFile, backup);
        const fresh = await loadCallbackKey(dir, flags.bits === undefined ? {} : { bits: flags.bits });
        io.out(`rotated the callback key in ${dir}\n`);
        io.out(`  old: ${fingerprint(old.publicKeyPem)} (kept as ${backup})\n`);
        io.out(`  new: ${fingerprint(fresh.publicKeyPem)} (${fresh.bits} bits)\n`);
        io.err(
          'Restart the storage server to sign with the new key, and restart app servers that cached the old public key.\n',
        );
        return;
      }
      if (!hadKey) {
        throw new UsageError(
          `no callback key at ${keyFile}; it is generated when the storage server first starts`,
        );
      }
      const key = await loadCallbackKey(dir);
      showKey(io, flags, key, keyFile);
    }),
  );
  return command;
}

function emptyAsUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Prints the callback key (only its PEM with `--pem`), then the access key the CLI would use. */
function showKey(io: CliIo, flags: KeysFlags, key: CallbackKey, source: string): void {
  if (flags.pem) {
    io.out(key.publicKeyPem);
    return;
  }
  const session = readDevSession(io, flags.data);
  const accessKeyId = io.env['UPCALL_ACCESS_KEY_ID'] ?? session?.accessKeyId;
  const secret = io.env['UPCALL_ACCESS_KEY_SECRET'] ?? session?.accessKeySecret;
  io.out('Callback signing key (storage server -> app server)\n');
  io.out(`  file:        ${source}\n`);
  io.out(`  size:        ${key.bits} bits RSA\n`);
  io.out(`  fingerprint: SHA256 ${fingerprint(key.publicKeyPem)}\n`);
  if (session !== undefined) io.out(`  key URL:     ${session.keyUrl}\n`);
  io.out(`\n${key.publicKeyPem}\n`);
  if (accessKeyId !== undefined) {
    io.out('Access key (clients -> storage server)\n');
    io.out(`  AccessKeyId:     ${accessKeyId}\n`);
    if (secret !== undefined) {
      io.out(
        `  AccessKeySecret: ${flags.showSecret ? secret : `${secret.slice(0, 4)}${'*'.repeat(Math.max(4, secret.length - 4))}`}\n`,
      );
    }
  }
}
