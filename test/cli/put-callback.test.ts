// `upcall put` with upload callbacks against a real server and a real app server (the callback
// sink): the reply is printed on 200; a failing app server gives 203, exit 2, and the object is
// still stored; the callback rides on CompleteMultipartUpload for multipart uploads.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getCommand } from '../../src/cli/commands/get.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { createCallbackService, type CallbackService } from '../../src/server/callback/callback-service.ts';
import { createServer, type UpcallServer } from '../../src/server/create-server.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../helpers/start-callback-sink.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let server: UpcallServer;
let callbacks: CallbackService;
let sink: CallbackSink;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-put-cb-'));
  callbacks = createCallbackService({ keyBits: 1024 }, { owner: 'cli', now: () => new Date() });
  server = await createServer({
    port: 0,
    credentials: { 'cli-key': 'cli-secret' },
    bucketsToCreate: ['photos'],
    logger: pino({ level: 'silent' }),
    callbackRuntime: callbacks.runtime,
  });
  callbacks.listening(server.host, server.port);
  sink = await startCallbackSink((await callbacks.key()).publicKeyPem);
  env = {
    UPCALL_ENDPOINT: server.url,
    UPCALL_ACCESS_KEY_ID: 'cli-key',
    UPCALL_ACCESS_KEY_SECRET: 'cli-secret',
  };
  await writeFile(join(dir, 'photo.jpg'), Buffer.alloc(2048, 7));
});
afterAll(async () => {
  await sink?.close();
  await server?.close();
  await callbacks?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sink.reply = okReply;
  sink.received.length = 0;
});

describe('upcall put with a callback', () => {
  it('prints the app server reply; the callback is signed and carries the variables', async () => {
    const run = await runCli(
      putCommand,
      [
        'put',
        'photo.jpg',
        'oss://photos/u/',
        '--callback-url',
        `${sink.url}/cb?src=cli`,
        '--var',
        'device=pixel 8',
      ],
      { cwd: dir, env },
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('callback: OK, the app server replied:');
    expect(run.stdout).toContain('"Status": "OK"');
    expect(sink.received).toHaveLength(1);
    const received = sink.received[0]!;
    expect(received.verified).toBe(true);
    expect(received.target).toBe('/cb?src=cli');
    const fields = new URLSearchParams(received.body.toString());
    expect(fields.get('object')).toBe('u/photo.jpg');
    expect(fields.get('size')).toBe('2048');
    expect(fields.get('mimeType')).toBe('image/jpeg');
    expect(fields.get('x:device')).toBe('pixel 8');
  });

  it('sends a JSON body when asked', async () => {
    const run = await runCli(
      putCommand,
      [
        'put',
        'photo.jpg',
        'oss://photos/j.jpg',
        '--callback-url',
        `${sink.url}/cb`,
        '--callback-body-type',
        'json',
        '--var',
        'user=42',
      ],
      { cwd: dir, env },
    );
    expect(run.exitCode).toBe(0);
    const body = JSON.parse(sink.received[0]!.body.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ bucket: 'photos', object: 'j.jpg', size: 2048, 'x:user': '42' });
  });

  it('reports a 203 plainly, exits 2, and the object is stored', async () => {
    sink.reply = (_callback, res) => {
      res.writeHead(500, { 'content-length': '2' }).end('no');
    };
    const run = await runCli(
      putCommand,
      ['put', 'photo.jpg', 'oss://photos/failed.jpg', '--callback-url', sink.url],
      {
        cwd: dir,
        env,
      },
    );
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toContain('uploaded photo.jpg');
    expect(run.stderr).toContain('callback FAILED: HTTP 203 CallbackFailed: Error status : 500.');
    expect(run.stderr).toContain('the object IS stored');
    expect(run.stderr).toContain('hint:');
    const get = await runCli(getCommand, ['get', 'oss://photos/failed.jpg', 'back.jpg'], { cwd: dir, env });
    expect(get.exitCode).toBe(0);
  });

  it('explains an app server that is not listening', async () => {
    const closed = await startCallbackSink((await callbacks.key()).publicKeyPem);
    await closed.close();
    const run = await runCli(
      putCommand,
      ['put', 'photo.jpg', 'oss://photos/x.jpg', '--callback-url', closed.url],
      {
        cwd: dir,
        env,
      },
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/hint: .*(connect|connection)/);
  });

  it('puts the callback on CompleteMultipartUpload for multipart uploads', async () => {
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(250 * 1024, 1));
    const run = await runCli(
      putCommand,
      [
        'put',
        'big.bin',
        'oss://photos/big.bin',
        '--multipart-threshold',
        '100KB',
        '--part-size',
        '100KB',
        '--callback-url',
        sink.url,
      ],
      { cwd: dir, env },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('multipart in 3 parts');
    expect(run.stdout).toContain('callback: OK');
    expect(sink.received).toHaveLength(1);
    expect(new URLSearchParams(sink.received[0]!.body.toString()).get('size')).toBe(String(250 * 1024));
  });

  it('--json carries the callback outcome in its one line, and a 203 still exits 2', async () => {
    const ok = await runCli(
      putCommand,
      ['put', 'photo.jpg', 'oss://photos/json-ok.jpg', '--json', '--callback-url', sink.url],
      { cwd: dir, env },
    );
    expect(ok.exitCode).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      url: 'oss://photos/json-ok.jpg',
      size: 2048,
      callback: { ok: true, reply: { Status: 'OK' } },
    });

    sink.reply = (_callback, res) => {
      res.writeHead(500).end('no');
    };
    const failed = await runCli(
      putCommand,
      ['put', 'photo.jpg', 'oss://photos/json-203.jpg', '--json', '--callback-url', sink.url],
      { cwd: dir, env },
    );
    expect(failed.exitCode).toBe(2);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      key: 'json-203.jpg',
      callback: { ok: false, status: 203, code: 'CallbackFailed' },
    });
  });
});
