/**
 * `startPrivatePostgres()`: a PostgreSQL 15 cluster of the test's own (initdb + pg_ctl in a temp
 * dir, on a free port of 127.0.0.1), for tests that stop and restart the database under load. The
 * shared service (`testServices().pgUrl`) is never stopped: other suites and engineers use it.
 *
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
 * (runuser), as scripts/services' start-services.sh does; otherwise to the current user.
 * Authentication is `trust` on 127.0.0.1 only: the cluster lives for one test file.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** Stops the server at once (`-m immediate`: connections drop as in a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  close(): Promise<void>;
}

/** Whether the binaries are here (the suite is skipped without them, unless services are required). */
export function privatePostgresAvailable(): boolean {
  return existsSync(join(PG_BIN, 'pg_ctl'));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const asRoot = userInfo().uid === 0;
  const base = await mkdtemp(join(tmpdir(), 'upcall-private-pg-'));
  // The postgres user must reach the data dir through the temp dir.
  await chmod(base, 0o755);
  const data = join(base, 'data');
  const socketDir = join(base, 'run');
  const log = join(base, 'postgres.log');
  const ids = asRoot ? await postgresIds() : undefined;
  const pgRun = (binary: string, args: string[]): Promise<unknown> =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args], { timeout: 120_000 })
      : run(join(PG_BIN, binary), args, { timeout: 120_000 });
  if (ids !== undefined) await chown(base, ids.uid, ids.gid);
  await pgRun('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  const port = await freePort();
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${socketDir}'`,
    'max_connections = 100',
    // fsync off is safe here (a stop is a process crash, never an OS crash: written WAL survives
    // in the page cache); synchronous_commit must stay on, or `stop()` (-m immediate) loses
    // transactions already acknowledged, which the restart tests check are never lost.
    'fsync = off',
    'full_page_writes = off',
    'log_min_messages = warning',
  ].join('\n');
  await writeFile(join(data, 'postgresql.auto.conf'), `${conf}\n`);
  await writeFile(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  await mkdir(socketDir, { recursive: true });
  if (ids !== undefined) {
    for (const path of [join(data, 'postgresql.auto.conf'), join(data, 'pg_hba.conf'), socketDir]) {
      await chown(path, ids.uid, ids.gid);
    }
  }
  const start = async (): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
  };
  const stop = async (): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
  };
  await start();
  let closed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      await stop().catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
