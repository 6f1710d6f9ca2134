// `--help` everywhere (issue 6): the real `upcall` binary lists its commands, and every command it
// lists answers `--help` with its own usage, its options and exit status 0, without starting
// anything or needing a server. Commands are read from the top-level help, so a newly registered
// command is covered without editing this test.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'upcall.js');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-help-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function upcall(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // An empty working directory: no dev session or data dir for --help to stumble over.
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Command names from commander's "Commands:" section, without its own `help`. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
    .map((match) => match[1] ?? '')
    .filter((name) => name !== 'help');
}

describe('upcall --help', () => {
  it('lists the commands, and each answers --help with its usage and options', async () => {
    const top = await upcall(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: upcall /);
    const commands = commandsIn(top.stdout);
    expect(commands).toEqual(
      expect.arrayContaining([
        'dev',
        'server',
        'put',
        'get',
        'ls',
        'rm',
        'stat',
        'mb',
        'rb',
        'uploads',
        'presign',
        'keys',
        'verify',
      ]),
    );
    const runs = await Promise.all(commands.map((name) => upcall([name, '--help'])));
    runs.forEach((run, i) => {
      const name = commands[i] ?? '';
      expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^Usage: upcall ${name} `));
      expect(run.stdout).toContain('-h, --help');
    });
    const put = runs[commands.indexOf('put')]?.stdout ?? '';
    for (const flag of ['--callback-url', '--callback-body', '--callback-body-type', '--var']) {
      expect(put).toContain(flag);
    }
    // Every object command offers --json for scripts, and says what its lines hold.
    for (const name of ['put', 'get', 'ls', 'rm', 'stat', 'mb', 'rb', 'uploads']) {
      const help = runs[commands.indexOf(name)]?.stdout ?? '';
      expect({ name, json: help.includes('--json') && help.includes('--json prints') }).toEqual({
        name,
        json: true,
      });
    }
    expect(runs[commands.indexOf('rm')]?.stdout).toContain('--recursive');
    expect(runs[commands.indexOf('get')]?.stdout).toContain('--force');
  }, 120_000);
});
