/**
 * `spawnCli(['server', '--port', '0', …])`: the real CLI (bin/upcall.js) as users run it, in a
 * child process, resolved once a line matching `ready` appears on stdout. Tests stop it with
 * `child.kill('SIGTERM')` and await `exited`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../bin/upcall.js', import.meta.url));

export interface SpawnedCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The first capture group of `ready`. */
  ready: string;
  exited: Promise<number | null>;
}

/** Credentials from the parent's environment never leak in unless a test sets them. */
export const CLEARED_ENV = [
  'UPCALL_ACCESS_KEY_ID',
  'UPCALL_ACCESS_KEY_SECRET',
  'UPCALL_REGION',
  'UPCALL_CALLBACK_KEY_BITS',
  'UPCALL_CALLBACK_KEY_URL',
  'UPCALL_CALLBACK_KEY_FILE',
  'UPCALL_FORBID_PRIVATE_CALLBACKS',
  'UPCALL_UNSIGNED_CALLBACKS',
  'UPCALL_UNSAFE_NO_FSYNC',
  'UPCALL_MIN_FREE_SPACE',
  'UPCALL_PATH_STYLE_HOSTS',
  'UPCALL_RECEIVER_TOKEN',
  'UPCALL_RECEIVER_ALLOWED_HOSTS',
  'UPCALL_STORAGE_ENDPOINT',
  'UPCALL_BUCKET',
  'UPCALL_RECEIVER_PUBLIC_URL',
  'UPCALL_DATABASE_URL',
  'UPCALL_FORWARD_TO',
  'UPCALL_BODY_TIMEOUT',
  'UPCALL_CALLBACK_LOG_MAX_AGE',
  'UPCALL_CALLBACK_LOG_MAX_ENTRIES',
  'UPCALL_DATABASE_URL',
  'UPCALL_S3_ENDPOINT',
  'UPCALL_S3_BUCKET',
  'UPCALL_S3_REGION',
  'UPCALL_S3_ACCESS_KEY_ID',
  'UPCALL_S3_SECRET_ACCESS_KEY',
  'UPCALL_GC_GRACE',
];

export async function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; ready: RegExp; cwd?: string },
): Promise<SpawnedCli> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  for (const name of CLEARED_ENV) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready; stdout: ${out}\nstderr: ${err}`));
    }, 60_000);
    const check = (): void => {
      const match = options.ready.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`upcall ${args[0] ?? ''} exited with ${String(code)}: ${err}`));
    });
  });
  return { child, stdout: () => out, stderr: () => err, ready, exited };
}
