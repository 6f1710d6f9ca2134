// `upcall put` of a large file draws a progress bar (issue 6), but only on a terminal, so the
// in-process CLI tests never see it. Here the real binary runs under a pseudo-terminal
// (util-linux `script`) against a real storage server: the multipart upload draws the bar up to
// 100% with the uploaded size, the rate and the elapsed time (issue 19); the same command with
// `--no-progress` draws none; `upcall get` draws one too.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type UpcallServer } from '../../src/server/create-server.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'upcall.js');

function haveScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canPty = haveScript();
if (!canPty) console.warn('progress bar test skipped: `script` (util-linux) is missing');

let dir: string;
let server: UpcallServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-progress-'));
  server = await createServer({
    port: 0,
    credentials: { 'progress-key': 'progress-secret' },
    bucketsToCreate: ['photos'],
    logger: pino({ level: 'silent' }),
  });
  await writeFile(join(dir, 'big.bin'), randomBytes(450 * 1024));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `upcall ARGS` with a terminal for stdin/stdout/stderr; returns what the terminal showed. */
async function inTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((arg) => `'${arg}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: dir,
    env: {
      ...process.env,
      UPCALL_ENDPOINT: server.url,
      UPCALL_ACCESS_KEY_ID: 'progress-key',
      UPCALL_ACCESS_KEY_SECRET: 'progress-secret',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, screen };
}

const MULTIPART = ['--multipart-threshold', '100KB', '--part-size', '100KB', '--parallel', '2'];

describe.skipIf(!canPty)('upcall put progress bar', () => {
  it('draws a bar up to 100% on a terminal for a multipart upload', async () => {
    const run = await inTerminal(['put', 'big.bin', 'oss://photos/big.bin', ...MULTIPART]);
    expect(run.code).toBe(0);
    expect(run.screen).toContain('multipart in 5 parts');
    expect(run.screen).toMatch(/ 0% \| 0 B \/ 450 KiB/);
    expect(run.screen).toMatch(
      / 100% \| 450 KiB \/ 450 KiB \| [\d.]+ (B|KiB|MiB|GiB)\/s \| \d+s elapsed \| ETA 0s/,
    );
  }, 60_000);

  it('draws a bar for get too, and leaves the cursor and line wrap on', async () => {
    const put = await inTerminal(['put', 'big.bin', 'oss://photos/for-get.bin', '--no-progress']);
    expect(put.code).toBe(0);
    const run = await inTerminal(['get', 'oss://photos/for-get.bin', 'got.bin']);
    expect(run.code).toBe(0);
    expect(run.screen).toMatch(/ 100% \| 450 KiB \/ 450 KiB \| .*\| \d+s elapsed \| ETA 0s/);
    expect(run.screen.lastIndexOf('\x1b[?25h')).toBeGreaterThan(run.screen.lastIndexOf('\x1b[?25l'));
    expect(run.screen.lastIndexOf('\x1b[?7h')).toBeGreaterThan(run.screen.lastIndexOf('\x1b[?7l'));
    expect(run.screen).toContain('downloaded oss://photos/for-get.bin');
  }, 60_000);

  it('draws nothing with --no-progress', async () => {
    const run = await inTerminal(['put', 'big.bin', 'oss://photos/big2.bin', ...MULTIPART, '--no-progress']);
    expect(run.code).toBe(0);
    expect(run.screen).toContain('multipart in 5 parts');
    expect(run.screen).not.toContain('%');
  }, 60_000);
});
