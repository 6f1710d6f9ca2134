// Failures that name the endpoint tried and say what to do (issue 19): a missing scheme, nothing
// listening, an unknown host, https:// on a plain-HTTP port, the receiver's port given as the
// endpoint, a missing local file, a wrong secret (naming where the secret came from, without the
// server's StringToSign dump), and `--var name` without a value. Real sockets throughout: a real
// storage server, a real receiver app, a port that was just closed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lsCommand } from '../../src/cli/commands/ls.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { DEV_SESSION_FILE, type DevSession } from '../../src/cli/connection.ts';
import { createReceiver, type Receiver } from '../../src/receiver/app/create-receiver.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let server: TestServer;
let receiver: Receiver;
let receiverUrl: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-cli-errors-'));
  server = await startTestServer({ bucket: 'errs' });
  receiver = await createReceiver({ dataDir: join(dir, 'receiver') });
  receiverUrl = await receiver.listen();
  env = {
    UPCALL_ENDPOINT: server.url,
    UPCALL_ACCESS_KEY_ID: server.accessKeyId,
    UPCALL_ACCESS_KEY_SECRET: server.accessKeySecret,
  };
  await writeFile(join(dir, 'a.txt'), 'a');
});
afterAll(async () => {
  await receiver?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('errors that name the endpoint and say what to do', () => {
  it('an endpoint without a scheme: names it, where it came from, and the fix', async () => {
    const host = new URL(server.url).host;
    const run = await runCli(lsCommand, ['ls'], { cwd: dir, env: { ...env, UPCALL_ENDPOINT: host } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error: the endpoint "${host}" (from environment variable UPCALL_ENDPOINT) has no scheme; write it as http://${host} (or https:// for a TLS server).\n`,
    );
  });

  it('an empty UPCALL_ENDPOINT counts as unset, not as an endpoint without a scheme', async () => {
    const run = await runCli(lsCommand, ['ls'], { cwd: dir, env: { ...env, UPCALL_ENDPOINT: '' } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: No storage server configured\. Start one with `npm start`/);
  });

  it('connection refused: names the endpoint and the flag it came from', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(lsCommand, ['ls', '--endpoint', endpoint], { cwd: dir, env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `error: cannot reach the storage server at ${endpoint} (from --endpoint): connection refused (ECONNREFUSED).`,
    );
    expect(run.stderr).toMatch(/^hint: nothing is listening there\. Start one with `npm start`/m);
  });

  it('a stale `upcall dev` session file: says the dev server seems stopped', async () => {
    const data = join(dir, 'stale');
    await mkdir(data, { recursive: true });
    const session: Partial<DevSession> = {
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    };
    await writeFile(join(data, DEV_SESSION_FILE), JSON.stringify(session));
    const run = await runCli(lsCommand, ['ls', '--data', data], { cwd: dir, env: {} });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`(from the \`upcall dev\` session file ${join(data, DEV_SESSION_FILE)})`);
    expect(run.stderr).toContain('seems to have stopped');
  });

  it('an unknown host: names the host', async () => {
    const endpoint = 'http://no-such-host.invalid:9000';
    const run = await runCli(lsCommand, ['ls'], { cwd: dir, env: { ...env, UPCALL_ENDPOINT: endpoint } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^error: cannot reach the storage server at http:\/\/no-such-host\.invalid:9000 \(from environment variable UPCALL_ENDPOINT\): the host no-such-host\.invalid is unknown \((ENOTFOUND|EAI_AGAIN)\)\.$/m,
    );
  });

  it('https:// on the plain-HTTP port: says to use http://', async () => {
    const port = new URL(server.url).port;
    const run = await runCli(lsCommand, ['ls', '--endpoint', `https://127.0.0.1:${port}`], { cwd: dir, env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`error: TLS to https://127.0.0.1:${port} (from --endpoint) failed`);
    expect(run.stderr).toContain(`hint: upcall serves plain HTTP; use http://127.0.0.1:${port}`);
  });

  it("the receiver's port as the endpoint: says it is not an OSS server and points at the storage server", async () => {
    const put = await runCli(putCommand, ['put', 'a.txt', 'oss://errs/a.txt', '--endpoint', receiverUrl], {
      cwd: dir,
      env,
    });
    expect(put.exitCode).toBe(1);
    expect(put.stderr).toContain(
      `error: ${receiverUrl} (from --endpoint) answered HTTP 404, but not as an OSS storage server`,
    );
    expect(put.stderr).toContain("hint: is that the receiver's port");

    // Next to a running `upcall dev`, the hint names the dev storage server's real endpoint.
    const data = join(dir, 'dev');
    await mkdir(data, { recursive: true });
    const session: Partial<DevSession> = {
      endpoint: server.url,
      receiverUrl,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    };
    await writeFile(join(data, DEV_SESSION_FILE), JSON.stringify(session));
    const ls = await runCli(lsCommand, ['ls', '--data', data, '--endpoint', receiverUrl], {
      cwd: dir,
      env: {},
    });
    expect(ls.exitCode).toBe(1);
    expect(ls.stderr).toContain(
      `The running \`upcall dev\` storage server is ${server.url}; pass --endpoint ${server.url}.`,
    );
  });

  it('a missing local file: names it and where it was looked for, not a raw ENOENT', async () => {
    const run = await runCli(putCommand, ['put', 'nope.txt', 'oss://errs/nope.txt'], { cwd: dir, env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(`error: no such file: nope.txt (looked for ${join(dir, 'nope.txt')})\n`);
    // named even where no storage server is configured at all
    const alone = await runCli(putCommand, ['put', 'nope.txt', 'oss://errs/nope.txt'], { cwd: dir, env: {} });
    expect(alone.stderr).toBe(`error: no such file: nope.txt (looked for ${join(dir, 'nope.txt')})\n`);
  });

  it('a wrong secret: names where the secret came from and hides the StringToSign dump', async () => {
    const fromEnv = await runCli(putCommand, ['put', 'a.txt', 'oss://errs/a.txt'], {
      cwd: dir,
      env: { ...env, UPCALL_ACCESS_KEY_SECRET: 'wrong' },
    });
    expect(fromEnv.exitCode).toBe(1);
    expect(fromEnv.stderr).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(fromEnv.stderr).toContain(
      `hint: the access key secret (from environment variable UPCALL_ACCESS_KEY_SECRET) does not match what the server at ${server.url} expects.`,
    );
    expect(fromEnv.stderr).not.toContain('StringToSign');

    const data = join(dir, 'wrong-secret');
    await mkdir(data, { recursive: true });
    const session: Partial<DevSession> = {
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: 'an-old-secret',
    };
    await writeFile(join(data, DEV_SESSION_FILE), JSON.stringify(session));
    const fromSession = await runCli(lsCommand, ['ls', 'oss://errs', '--data', data], { cwd: dir, env: {} });
    expect(fromSession.exitCode).toBe(1);
    expect(fromSession.stderr).toContain(
      `hint: the access key secret (from the \`upcall dev\` session file ${join(data, DEV_SESSION_FILE)}) does not match`,
    );
    expect(fromSession.stderr).not.toContain('StringToSign');
  });

  it('`--var name` without =value is an error, before anything is uploaded', async () => {
    const run = await runCli(
      putCommand,
      ['put', 'a.txt', 'oss://errs/var.txt', '--callback-url', 'http://127.0.0.1:1/cb', '--var', 'device'],
      { cwd: dir, env },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('expected name=value, got "device"; write --var device=<value>');
    const listed = await runCli(lsCommand, ['ls', 'oss://errs/'], { cwd: dir, env });
    expect(listed.stdout).not.toContain('var.txt');
  });
});
