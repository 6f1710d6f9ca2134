// Doc-tests: every fenced code block in README.md, docs/*.md and packages/verify/README.md, and
// the snippets the `upcall dev` banner prints, runs as written (issue 19: the ali-oss snippet
// mixed `require` with top-level `await` and ran nowhere). Blocks are found when the test runs,
// so new ones are covered without touching this file.
//
// - ```sh blocks run in bash (`set -e`) in a user's directory where `bin/upcall.js` and
//   `package.json` are as in a checkout, against one real `upcall dev` started there (so the CLI
//   finds its session in `.upcall/`, as the README says).
// - ```js / ```ts blocks run as files in a fresh project that has only `ali-oss` and `upcall-verify`
//   (the workspace's build) installed:
//   `.cjs` when the block uses `require(`, otherwise an ES module (`.mjs`, `.mts` through tsx).
// - Other languages, and fences without one, are output samples (```text, ```xml, …): not run.
// - `<!-- doc-test: skip (reason) -->` before a fence (blank lines between are fine) skips it; the
//   reason is required.
//
// Only the ports change: the servers listen on free ports, so `127.0.0.1:9000` (storage) and
// `127.0.0.1:9100` (receiver) in a block are rewritten to the ports they got.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';

const REPO = join(import.meta.dirname, '..', '..');
const ACCESS_KEY = { UPCALL_ACCESS_KEY_ID: 'LTAIdoctest', UPCALL_ACCESS_KEY_SECRET: 'doc-test-secret' };
const RUNNABLE = new Set(['sh', 'js', 'ts']);
const BLOCK_TIMEOUT_MS = 20_000;

interface CodeBlock {
  file: string;
  line: number;
  lang: string;
  code: string;
  /** Why it is not run, from a `<!-- doc-test: skip (…) -->` marker. */
  skip?: string;
}

/** Fenced blocks of a Markdown file, indented ones (in list items) included. */
export function extractBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const indent = open[1] ?? '';
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ''); i++) {
      const line = lines[i] ?? '';
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    // The marker is the last non-blank line before the fence (Prettier puts a blank line between).
    let before = start - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--;
    const marker = /<!--\s*doc-test:\s*skip\s*\((.*)\)\s*-->/.exec(lines[before] ?? '');
    blocks.push({
      file,
      line: start + 1,
      lang: open[2] ?? '',
      code: body.join('\n'),
      ...(marker === null ? {} : { skip: marker[1] ?? '' }),
    });
  }
  return blocks;
}

async function docBlocks(): Promise<CodeBlock[]> {
  const docs = (await readdir(join(REPO, 'docs'))).filter((name) => name.endsWith('.md')).sort();
  const files = ['README.md', ...docs.map((name) => `docs/${name}`), 'packages/verify/README.md'];
  const blocks: CodeBlock[] = [];
  for (const file of files) blocks.push(...extractBlocks(file, await readFile(join(REPO, file), 'utf8')));
  return blocks;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let workDir: string;
/** A user's checkout: where the README's `node bin/upcall.js …` commands run. */
let checkoutDir: string;
/** A fresh project with only ali-oss and upcall-verify installed: where JS snippets run. */
let projectDir: string;
let dev: SpawnedCli;
let storageUrl: string;
let receiverUrl: string;
let fileCount = 0;

function withPorts(code: string): string {
  return code
    .replaceAll('http://127.0.0.1:9000', storageUrl)
    .replaceAll('http://127.0.0.1:9100', receiverUrl);
}

const env = (): Record<string, string> => ({ ...ACCESS_KEY, LOG_LEVEL: 'warn' });

async function runShell(code: string): Promise<Ran> {
  return run('bash', ['-e', '-o', 'pipefail', '-c', withPorts(code)], checkoutDir, env());
}

async function runScript(lang: string, code: string): Promise<Ran> {
  const module = !/\brequire\(/.test(code);
  const ext = lang === 'ts' ? (module ? 'mts' : 'cts') : module ? 'mjs' : 'cjs';
  const file = join(projectDir, `snippet-${++fileCount}.${ext}`);
  await writeFile(file, withPorts(code));
  const args = lang === 'ts' ? ['--import', 'tsx', file] : [file];
  return run(process.execPath, args, projectDir, env());
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'upcall-doc-tests-'));
  checkoutDir = join(workDir, 'checkout');
  projectDir = join(workDir, 'project');
  await mkdir(checkoutDir);
  await mkdir(join(projectDir, 'node_modules'), { recursive: true });
  await symlink(join(REPO, 'bin'), join(checkoutDir, 'bin'));
  await copyFile(join(REPO, 'package.json'), join(checkoutDir, 'package.json'));
  await writeFile(join(projectDir, 'package.json'), '{ "name": "doc-test-project", "private": true }\n');
  await symlink(join(REPO, 'node_modules', 'ali-oss'), join(projectDir, 'node_modules', 'ali-oss'));
  await symlink(join(REPO, 'node_modules', 'tsx'), join(projectDir, 'node_modules', 'tsx'));
  await symlink(join(REPO, 'packages', 'verify'), join(projectDir, 'node_modules', 'upcall-verify'));
  dev = await spawnCli(['dev', '--port', '0', '--receiver-port', '0'], {
    cwd: checkoutDir,
    env: ACCESS_KEY,
    ready: /(Press Ctrl-C)/,
  });
  storageUrl = /Storage endpoint\s+(\S+)/.exec(dev.stdout())?.[1] ?? '';
  receiverUrl = /Browser demo\s+(\S+)\/demo/.exec(dev.stdout())?.[1] ?? '';
}, 60_000);

afterAll(async () => {
  dev?.child.kill('SIGTERM');
  await dev?.exited;
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

const blocks = await docBlocks();

describe('code blocks in README.md, docs/ and packages/verify/README.md', () => {
  it('finds the blocks, and every skip says why', () => {
    expect(blocks.filter((block) => RUNNABLE.has(block.lang)).length).toBeGreaterThan(5);
    for (const block of blocks) if (block.skip !== undefined) expect(block.skip.trim()).not.toBe('');
  });

  for (const block of blocks) {
    if (!RUNNABLE.has(block.lang)) continue;
    const name = `${block.file}:${String(block.line)} (${block.lang})`;
    if (block.skip !== undefined) {
      it.skip(`${name}: ${block.skip}`, () => undefined);
      continue;
    }
    it(`${name} runs as written`, { timeout: 30_000 }, async () => {
      const ran = block.lang === 'sh' ? await runShell(block.code) : await runScript(block.lang, block.code);
      expect(ran, `${block.code}\n--- stderr:\n${ran.stderr}`).toMatchObject({ code: 0 });
    });
  }
});

describe('the `upcall dev` banner', () => {
  /** The lines of the banner's indented block that starts with a line matching `first`. */
  function bannerBlock(first: RegExp): string {
    const lines = dev.stdout().split('\n');
    const start = lines.findIndex((line) => first.test(line));
    expect(start).toBeGreaterThan(-1);
    const block: string[] = [];
    for (const line of lines.slice(start)) {
      if (!line.startsWith('  ')) break;
      block.push(line.slice(2));
    }
    return block.join('\n');
  }

  it('its ali-oss snippet runs as an upload.mjs, as it says, and prints the app server reply', async () => {
    const ran = await runScript('js', bannerBlock(/^ {2}import OSS from 'ali-oss'/));
    expect(ran, ran.stderr).toMatchObject({ code: 0 });
    expect(ran.stdout).toContain('Status');
  });

  it('its CLI command uploads with a callback', async () => {
    // Run from a checkout's root (here: a directory whose bin/ is the repo's), it says `node bin/upcall.js`.
    const ran = await runShell(bannerBlock(/^ {2}node bin\/upcall\.js put /));
    expect(ran, ran.stderr).toMatchObject({ code: 0 });
    expect(ran.stdout).toContain('Status');
  });
});
