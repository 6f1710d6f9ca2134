/**
 * `--log-level`, `--verbose` and `LOG_LEVEL` reach the servers of `upcall server`, `upcall receiver`
 * and `upcall dev`, run as users run them (issue 18, docs/operations.md "Logs"): at info a PUT, a
 * 404 and a 403 each leave one JSON line on stderr; above info none does; a LOG_LEVEL that names no
 * level is a usage error.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../../src/server/create-server.ts';
import { rawRequest, signedRequest } from '../helpers/raw-request.ts';
import { CLI_PATH, spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

type LogLine = Record<string, unknown> & { msg?: string };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-log-level-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function logLines(cli: SpawnedCli): LogLine[] {
  return cli
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  await cli.exited;
}

/** Polls: a line is written when its response has finished, a moment after the client sees it. */
async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Enough of a TestServer for signedRequest against a CLI server with the built-in loopback key. */
function target(endpoint: string): TestServer {
  return {
    port: Number(new URL(endpoint).port),
    accessKeyId: DEFAULT_ACCESS_KEY_ID,
    accessKeySecret: DEFAULT_ACCESS_KEY_SECRET,
  } as TestServer;
}

describe('upcall server', () => {
  it('LOG_LEVEL=info logs a PUT, a 404 and a 403, one line each', async () => {
    const cli = await spawnCli(['server', '--memory', '--port', '0', '--bucket', 'logs'], {
      env: { LOG_LEVEL: 'info' },
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    try {
      const server = target(cli.ready);
      const put = await signedRequest(server, { method: 'PUT', bucket: 'logs', key: 'a.txt', body: 'hi' });
      const missing = await signedRequest(server, { method: 'GET', bucket: 'logs', key: 'none' });
      const denied = await rawRequest(server.port, { method: 'GET', path: '/logs/a.txt' });
      expect([put.status, missing.status, denied.status]).toEqual([200, 404, 403]);
      const requests = (): LogLine[] => logLines(cli).filter((line) => line.msg === 'request');
      await until(() => requests().length >= 3);
      expect(requests()).toEqual([
        expect.objectContaining({ name: 'upcall-server', operation: 'PutObject', key: 'a.txt', status: 200 }),
        expect.objectContaining({ operation: 'GetObject', status: 404, code: 'NoSuchKey' }),
        expect.objectContaining({ operation: 'GetObject', status: 403, code: 'AccessDenied' }),
      ]);
    } finally {
      await stop(cli);
    }
  });

  it('--log-level warn wins over LOG_LEVEL and logs no request; --verbose logs them', async () => {
    const quiet = await spawnCli(['server', '--memory', '--port', '0', '--log-level', 'warn'], {
      env: { LOG_LEVEL: 'info' },
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    const verbose = await spawnCli(['server', '--memory', '--port', '0', '--verbose'], {
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    try {
      for (const cli of [quiet, verbose]) {
        expect((await fetch(`${cli.ready}/_upcall/health/live`)).status).toBe(200);
      }
      await until(() => logLines(verbose).some((line) => line.msg === 'request'));
      expect(logLines(verbose).find((line) => line.msg === 'request')).toMatchObject({
        operation: 'UpcallLiveness',
        status: 200,
      });
      expect(logLines(quiet).filter((line) => line.msg === 'request')).toEqual([]);
    } finally {
      await Promise.all([stop(quiet), stop(verbose)]);
    }
  });

  it('refuses a LOG_LEVEL that names no level', async () => {
    const child = spawn(process.execPath, [CLI_PATH, 'server', '--memory', '--port', '0'], {
      env: { ...process.env, LOG_LEVEL: 'loud' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(err).toContain('LOG_LEVEL=loud');
  });
});

describe('upcall receiver and upcall dev', () => {
  it('receiver --verbose logs each request, without its query string', async () => {
    const cli = await spawnCli(['receiver', '--port', '0', '--data', join(dir, 'receiver'), '--verbose'], {
      ready: /^dashboard: (http:\/\/\S+)\/dashboard$/m,
    });
    try {
      expect((await fetch(`${cli.ready}/_upcall/health/ready?probe=secret-probe-value`)).status).toBe(200);
      await until(() => logLines(cli).some((line) => line.msg === 'request'));
      expect(logLines(cli).find((line) => line.msg === 'request')).toMatchObject({
        name: 'upcall-receiver',
        method: 'GET',
        path: '/_upcall/health/ready',
        status: 200,
      });
      expect(cli.stderr()).not.toContain('secret-probe-value');
    } finally {
      await stop(cli);
    }
  });

  it('dev --log-level info logs the requests of both servers; by default it logs none', async () => {
    const args = ['dev', '--port', '0', '--receiver-port', '0'];
    const loud = await spawnCli([...args, '--data', join(dir, 'dev-loud'), '--log-level', 'info'], {
      ready: /Storage endpoint\s+(http:\/\/\S+)/,
    });
    // LOG_LEVEL empty: the command's own default (warn).
    const quiet = await spawnCli([...args, '--data', join(dir, 'dev-quiet')], {
      env: { LOG_LEVEL: '' },
      ready: /Storage endpoint\s+(http:\/\/\S+)/,
    });
    try {
      for (const cli of [loud, quiet]) {
        const receiverUrl = /Dashboard\s+(http:\/\/[^/\s]+)/.exec(cli.stdout())?.[1];
        expect(receiverUrl).toBeDefined();
        expect((await fetch(`${cli.ready}/_upcall/health/live`)).status).toBe(200);
        expect((await fetch(`${receiverUrl}/_upcall/health/live`)).status).toBe(200);
      }
      const names = (cli: SpawnedCli): unknown[] =>
        logLines(cli)
          .filter((line) => line.msg === 'request')
          .map((line) => line['name']);
      await until(() => names(loud).length >= 2);
      expect(names(loud).sort()).toEqual(['upcall-receiver', 'upcall-server']);
      expect(names(quiet)).toEqual([]);
    } finally {
      await Promise.all([stop(loud), stop(quiet)]);
    }
  });
});
