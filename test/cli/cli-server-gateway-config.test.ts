/**
 * `upcall server`'s gateway mode (issue 16) refuses half a configuration at start, through the
 * spawned CLI: a database without an S3 engine, an engine without a database, an endpoint without
 * its bucket or credentials, `--data` / `--memory` beside gateway settings, bad values in flags or
 * variables. Each is exit code 1, one `error:` line naming what is missing, no stack trace, nothing
 * on stdout (scripts read the banner there), and never the secret or the database password.
 * Nothing here needs PostgreSQL or S3: every case stops before connecting.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEARED_ENV, CLI_PATH, spawnCli } from '../helpers/spawn-cli.ts';

interface Failed {
  code: number | null;
  stdout: string;
  stderr: string;
}

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'upcall-gateway-config-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs `upcall server --port 0 …args`, which must exit by itself (within the test's timeout). */
function startServer(args: string[], env: Record<string, string>): Promise<Failed> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLEARED_ENV) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_PATH, 'server', '--port', '0', ...args],
      { env: childEnv, cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : (child.exitCode ?? null), stdout, stderr });
      },
    );
  });
}

const SECRET = 'gateway-secret-Zq9';
const DB_PASSWORD = 'db-pass-Wx7';
const DATABASE_URL = `postgres://upcall:${DB_PASSWORD}@127.0.0.1:1/upcall`;
const S3_CREDENTIALS = { UPCALL_S3_ACCESS_KEY_ID: 'swift-id', UPCALL_S3_SECRET_ACCESS_KEY: SECRET };
const S3 = ['--s3-endpoint', 'http://127.0.0.1:1', '--s3-bucket', 'upcall-blobs'];

function expectRefused(result: Failed, message: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).toMatch(message);
  // One line of explanation, not a stack trace.
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toContain(SECRET);
  expect(result.stderr).not.toContain(DB_PASSWORD);
}

describe('upcall server gateway mode: half a configuration is refused at start', { timeout: 120_000 }, () => {
  it('a database URL without an S3 engine names the S3 settings that are missing', async () => {
    const result = await startServer(['--database-url', DATABASE_URL], {});
    expectRefused(
      result,
      /missing: --s3-endpoint \(or UPCALL_S3_ENDPOINT\), --s3-bucket \(or UPCALL_S3_BUCKET\), UPCALL_S3_ACCESS_KEY_ID, UPCALL_S3_SECRET_ACCESS_KEY/,
    );
  });

  it('an S3 engine without a database names the database setting', async () => {
    const result = await startServer(S3, S3_CREDENTIALS);
    expectRefused(result, /missing: --database-url \(or UPCALL_DATABASE_URL\)$/m);
  });

  it('an endpoint without bucket or credentials names both', async () => {
    const result = await startServer(
      ['--database-url', DATABASE_URL, '--s3-endpoint', 'http://127.0.0.1:1'],
      {},
    );
    expectRefused(
      result,
      /missing: --s3-bucket \(or UPCALL_S3_BUCKET\), UPCALL_S3_ACCESS_KEY_ID, UPCALL_S3_SECRET_ACCESS_KEY$/m,
    );
  });

  it('half the credentials names the other half', async () => {
    const result = await startServer(['--database-url', DATABASE_URL, ...S3], {
      UPCALL_S3_ACCESS_KEY_ID: 'swift-id',
    });
    expectRefused(result, /missing: UPCALL_S3_SECRET_ACCESS_KEY$/m);
  });

  it('the same holds for a configuration from the environment alone', async () => {
    const result = await startServer([], {
      UPCALL_DATABASE_URL: DATABASE_URL,
      UPCALL_S3_BUCKET: 'upcall-blobs',
    });
    expectRefused(result, /gateway mode \(UPCALL_DATABASE_URL, UPCALL_S3_BUCKET\).*missing: --s3-endpoint/);
  });

  it('--data or --memory beside gateway settings is refused: the data would not be shared', async () => {
    const env = { ...S3_CREDENTIALS, UPCALL_DATABASE_URL: DATABASE_URL };
    expectRefused(
      await startServer(['--data', join(cwd, 'data'), ...S3], env),
      /--data and UPCALL_DATABASE_URL, --s3-endpoint, --s3-bucket exclude each other/,
    );
    expectRefused(
      await startServer(['--memory', '--gc-grace', '10s'], {}),
      /--memory and --gc-grace exclude each other/,
    );
  });

  it('bad values are refused with the flag or variable they came from', async () => {
    expectRefused(
      await startServer(['--database-url', 'mysql://db/upcall'], {}),
      /--database-url: expected a postgres:\/\/ URL, not mysql:/,
    );
    expectRefused(
      await startServer(['--s3-endpoint', `http://swift-id:${SECRET}@127.0.0.1:1`], {}),
      /--s3-endpoint: no credentials in the URL: set UPCALL_S3_ACCESS_KEY_ID and UPCALL_S3_SECRET_ACCESS_KEY/,
    );
    expectRefused(
      await startServer(['--s3-endpoint', 'http://127.0.0.1:1/upcall-blobs'], {}),
      /expected scheme, host and port only/,
    );
    expectRefused(
      await startServer([], { UPCALL_DATABASE_URL: `mysql://upcall:${DB_PASSWORD}@db/upcall` }),
      /UPCALL_DATABASE_URL: expected a postgres:\/\/ URL, not mysql:/,
    );
    expectRefused(await startServer(['--s3-bucket', 'Upcall_Blobs'], {}), /expected an S3 bucket name/);
    expectRefused(await startServer(['--gc-grace', '0s'], {}), /--gc-grace.*expected a duration above 0/);
    expectRefused(
      await startServer([], { UPCALL_DATABASE_URL: DATABASE_URL, UPCALL_GC_GRACE: 'soon' }),
      /UPCALL_GC_GRACE=soon: expected a duration/,
    );
  });

  it('beyond loopback a gateway needs UPCALL_ACCESS_KEY_*: a generated key would be its own', async () => {
    const result = await startServer(
      ['--host', '0.0.0.0', '--database-url', DATABASE_URL, ...S3],
      S3_CREDENTIALS,
    );
    expectRefused(result, /set UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET, the same on every gateway/);
  });

  it('UPCALL_S3_REGION, UPCALL_GC_GRACE or S3 credentials alone leave a --data server alone', async () => {
    // They only tune gateway mode, so a shell exporting them for other tools still starts locally.
    const cli = await spawnCli(['server', '--port', '0', '--data', join(cwd, 'local')], {
      env: { UPCALL_S3_REGION: 'eu-west-1', UPCALL_GC_GRACE: '5m', ...S3_CREDENTIALS },
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toContain(`data: ${join(cwd, 'local')}`);
  });
});
