// Starts upcall through its documented CLI (`upcall server --port N --data DIR`, credentials
// from the environment; DESIGN.md "Interfaces other people script against"), so the benchmark
// measures what users run. Reports "not available" instead of failing when the server has not
// landed yet.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startChildServer } from './child-server.js';
import { ossDialect } from './sign.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO_ROOT, 'bin', 'upcall.js');

export const UPCALL_KEY = { accessKeyId: 'bench-access-key', secret: 'bench-access-secret-0123456789' };

/** @returns {string | undefined} why upcall cannot run, or undefined if it should */
export function upcallMissing() {
  if (!existsSync(join(REPO_ROOT, 'src', 'cli', 'main.ts'))) return 'src/cli/main.ts is not there yet';
  if (!existsSync(join(REPO_ROOT, 'src', 'server', 'create-server.ts')))
    return 'src/server/create-server.ts is not there yet';
  return undefined;
}

/**
 * @param {{ name?: string, dataDir?: string, host?: string, cpuProfDir?: string, env?: NodeJS.ProcessEnv,
 *   extraArgs?: string[], bucket: string }} options
 * @returns {Promise<{ server: import('./child-server.js').ChildServer, target: import('./target.js').Target }>}
 */
export async function startUpcall(options) {
  const server = await startCli(options.name ?? 'upcall', 'server', {
    host: options.host,
    dataDir: options.dataDir,
    nodeArgs: options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
    args: options.extraArgs ?? [],
    env: {
      UPCALL_ACCESS_KEY_ID: UPCALL_KEY.accessKeyId,
      UPCALL_ACCESS_KEY_SECRET: UPCALL_KEY.secret,
      ...options.env,
    },
  });
  return {
    server,
    target: {
      name: server.name,
      origin: server.origin,
      bucket: options.bucket,
      pid: server.pid,
      dialect: ossDialect(UPCALL_KEY.accessKeyId, UPCALL_KEY.secret),
    },
  };
}

/**
 * The receiver app through its CLI (`upcall receiver --port N --data DIR --public-key FILE`):
 * verifies each callback with the pinned key and records it in SQLite before it answers.
 * @param {{ dataDir: string, publicKeyFile: string, callbackPath: string, host?: string, env?: NodeJS.ProcessEnv }} options
 *   (`env.UPCALL_DATABASE_URL` records to PostgreSQL instead)
 * @returns {Promise<import('./child-server.js').ChildServer>}
 */
export async function startReceiver(options) {
  return startCli('upcall receiver', 'receiver', {
    host: options.host,
    dataDir: options.dataDir,
    env: options.env,
    args: ['--public-key', options.publicKeyFile, '--callback-path', options.callbackPath],
  });
}

/**
 * One upcall CLI command as a child process on a free port: `upcall <command> --port N --host H
 * --data DIR [args]`, quiet logging, stopped with SIGINT (the CLI's graceful stop, so a
 * --cpu-prof profile gets written on exit).
 * @param {string} name
 * @param {string} command
 * @param {{ host?: string, dataDir?: string, nodeArgs?: string[], args?: string[], env?: NodeJS.ProcessEnv }} options
 */
async function startCli(name, command, options) {
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host);
  return startChildServer(
    name,
    [
      ...(options.nodeArgs ?? []),
      CLI,
      command,
      '--port',
      String(port),
      '--host',
      host,
      // No --data: a gateway (UPCALL_DATABASE_URL, UPCALL_S3_*) keeps nothing locally.
      ...(options.dataDir === undefined ? [] : ['--data', options.dataDir]),
      ...(options.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      host,
      port,
      stopSignal: 'SIGINT',
      timeoutMs: 60_000,
      env: { LOG_LEVEL: 'warn', ...options.env },
    },
  );
}
