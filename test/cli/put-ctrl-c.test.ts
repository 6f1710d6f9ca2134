// Ctrl-C during `upcall put` and `upcall get` (issue 19): the real binary runs under a pseudo-terminal (util-linux
// `script`) with its progress bar, uploading a multipart file through a throttled proxy to a real
// storage server. Once the server holds the first part, ^C is typed into the terminal (the line
// discipline turns it into SIGINT, as a user's keypress does). The command must abort the
// multipart upload on the server (ListMultipartUploads comes back empty, no object), give the
// terminal its cursor (ESC[?25h) and line wrap (ESC[?7h) back, say what happened, and exit 130.
// A `get` through a proxy that slows the replies, sent SIGINT mid-download, leaves no file.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { CLI_PATH } from '../helpers/spawn-cli.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';
import { startThrottledProxy, type ThrottledProxy } from '../helpers/throttled-proxy.ts';

function haveScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canPty = haveScript();
if (!canPty) console.warn('Ctrl-C test skipped: `script` (util-linux) is missing');

let dir: string;
let server: TestServer;
let proxy: ThrottledProxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-ctrl-c-'));
  server = await startTestServer({ bucket: 'slow' });
  // 12 parts of 256 KiB at 512 KiB/s: the first part lands after about half a second, the whole
  // file would take six.
  proxy = await startThrottledProxy(server.url, 512 * 1024);
  await writeFile(join(dir, 'big.bin'), randomBytes(3 * 1024 * 1024));
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Upload {
  name: string;
  uploadId: string;
}

async function ongoingUploads(): Promise<Upload[]> {
  const listed = (await ossClient(server, { bucket: 'slow' }).listUploads({}, {})) as { uploads?: Upload[] };
  return listed.uploads ?? [];
}

async function firstPartStored(deadline: number): Promise<void> {
  const client = ossClient(server, { bucket: 'slow' });
  while (Date.now() < deadline) {
    const [upload] = await ongoingUploads();
    if (upload !== undefined) {
      const parts = (await client.listParts(upload.name, upload.uploadId, {}, {})) as { parts?: unknown[] };
      if ((parts.parts ?? []).length > 0) return;
    }
    await sleep(50);
  }
  throw new Error('no part reached the server in time');
}

describe.skipIf(!canPty)('Ctrl-C during upcall put', () => {
  it('aborts the multipart upload on the server, restores the terminal and exits 130', async () => {
    const args = [
      'put',
      'big.bin',
      'oss://slow/big.bin',
      '--multipart-threshold',
      '100KB',
      '--part-size',
      '256KB',
      '--parallel',
      '1',
    ];
    const command = [process.execPath, CLI_PATH, ...args].map((arg) => `'${arg}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: {
        ...process.env,
        UPCALL_ENDPOINT: proxy.url,
        UPCALL_ACCESS_KEY_ID: server.accessKeyId,
        UPCALL_ACCESS_KEY_SECRET: server.accessKeySecret,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const closed = once(child, 'close') as Promise<[number | null]>;

    const early = closed.then(([exit]) => {
      throw new Error(`upcall put ended (${String(exit)}) before a part was stored: ${screen}`);
    });
    await Promise.race([firstPartStored(Date.now() + 30_000), early]);
    early.catch(() => undefined);
    const before = screen;
    child.stdin.write('\x03'); // ^C, as typed
    const [code] = await closed;

    expect(before).toContain('\x1b[?25l'); // the bar had hidden the cursor…
    const after = screen.slice(before.length);
    expect(after).toContain('\x1b[?25h'); // …and it is shown again
    expect(after).toContain('\x1b[?7h'); // line wrap back on
    expect(screen).toMatch(
      /interrupted: oss:\/\/slow\/big\.bin was not uploaded; multipart upload \S+ was aborted on the server, no parts are left behind\./,
    );
    expect(code).toBe(130);
    expect(await ongoingUploads()).toEqual([]);
    await expect(ossClient(server, { bucket: 'slow' }).head('big.bin')).rejects.toMatchObject({
      status: 404,
    });
  }, 60_000);
});

describe('Ctrl-C during upcall get', () => {
  it('stops the download, leaves no partial file, and exits 130', async () => {
    await ossClient(server, { bucket: 'slow' }).put('down.bin', randomBytes(3 * 1024 * 1024));
    const slowReplies = await startThrottledProxy(server.url, 512 * 1024, { replies: true });
    const into = join(dir, 'downloads');
    await mkdir(into);
    try {
      const child = spawn(process.execPath, [CLI_PATH, 'get', 'oss://slow/down.bin', 'down.bin'], {
        cwd: into,
        env: {
          ...process.env,
          UPCALL_ENDPOINT: slowReplies.url,
          UPCALL_ACCESS_KEY_ID: server.accessKeyId,
          UPCALL_ACCESS_KEY_SECRET: server.accessKeySecret,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const closed = once(child, 'close') as Promise<[number | null]>;
      const deadline = Date.now() + 30_000;
      while ((await readdir(into)).length === 0) {
        if (Date.now() > deadline) throw new Error(`no download started: ${stderr}`);
        await sleep(20);
      }
      child.kill('SIGINT');
      const [code] = await closed;
      expect(stderr).toContain('interrupted: down.bin was not written (the partial download is removed).');
      expect(code).toBe(130);
      expect(await readdir(into)).toEqual([]);
    } finally {
      await slowReplies.close();
    }
  }, 60_000);
});
