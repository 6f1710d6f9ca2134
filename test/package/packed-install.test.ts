// The packages as users get them (issue 19, "A package people can install"): `npm pack` of the
// root and of the upcall-verify workspace, each tarball installed in an empty project in a temp
// dir, then used there the way the README says.
//
// - upcall-verify alone: installs offline (it has no dependencies at all), pulls in no native
//   module (no binding.gyp, no .node file, no install script anywhere in the tree), type-checks
//   without Express or Fastify, and verifies a real OSS-signed callback (SPEC.md §11) through its
//   node:http adapter on a real socket.
// - upcall: `npx upcall dev` from the installed tarball starts, its banner prints `npx upcall …`
//   commands, and the banner's own `npx upcall put … --callback-url …` stores a file and returns
//   the app server's reply; no tsx, ali-oss or sources are installed with it.
//
// better-sqlite3: installing the root tarball normally compiles it (about 70 s here). The install
// runs with --ignore-scripts and the repository's own compiled better_sqlite3.node is copied in,
// with better-sqlite3 pinned (overrides) to the version the repository has, so the copied binary
// matches its JavaScript; the install then takes seconds. Every other package comes from the npm
// cache (--prefer-offline), or the registry when the cache lacks it. The install's duration is
// printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSS_PUBLIC_KEY_PEM, REAL_VECTORS, vectorHeaders } from '../helpers/receiver-vectors.ts';

const REPO = join(import.meta.dirname, '..', '..');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

async function mustRun(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Ran> {
  const ran = await run(command, args, cwd, env);
  if (ran.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${ran.code}:\n${ran.stderr}`);
  return ran;
}

async function newestMtimeMs(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** Builds the packages when the build is missing or older than a source (as bin/upcall.js judges). */
async function ensureBuilt(): Promise<void> {
  const built = await stat(join(REPO, 'dist', '.built')).then(
    (s) => s.mtimeMs,
    () => -1,
  );
  const sources = Math.max(
    await newestMtimeMs(join(REPO, 'src')),
    await newestMtimeMs(join(REPO, 'packages', 'verify', 'src')),
  );
  if (built < sources) await mustRun(process.execPath, [join(REPO, 'scripts', 'build.js')], REPO);
}

/** npm pack's tarball name (the last line it prints). */
async function pack(args: string[], destination: string): Promise<string> {
  const ran = await mustRun(
    'npm',
    ['pack', '--ignore-scripts', '--pack-destination', destination, ...args],
    REPO,
  );
  const name = ran.stdout.trim().split('\n').at(-1) ?? '';
  return join(destination, name);
}

async function emptyProject(dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'packed-install-test', private: true, type: 'module', ...extra }, null, 2)}\n`,
  );
}

/** Every file under a directory (recursive, as paths relative to it). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

let work: string;
let verifyTarball: string;
let rootTarball: string;
/** The root tarball's install, started at once so it overlaps the upcall-verify checks. */
let appInstalled: Promise<string>;

/** Installs both tarballs in an empty project (see the better-sqlite3 note at the top). */
async function installApp(): Promise<string> {
  const project = join(work, 'app');
  const repoSqlite = JSON.parse(
    await readFile(join(REPO, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8'),
  ) as { version: string };
  await emptyProject(project, { overrides: { 'better-sqlite3': repoSqlite.version } });
  const started = performance.now();
  await mustRun('npm', ['install', '--ignore-scripts', ...NPM_FLAGS, rootTarball, verifyTarball], project);
  console.info(`npm install of the root tarball: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const release = join('node_modules', 'better-sqlite3', 'build', 'Release');
  await mkdir(join(project, release), { recursive: true });
  await copyFile(join(REPO, release, 'better_sqlite3.node'), join(project, release, 'better_sqlite3.node'));
  return project;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'upcall-packed-'));
  await ensureBuilt();
  verifyTarball = await pack(['--workspace', 'packages/verify'], work);
  rootTarball = await pack([], work);
  appInstalled = installApp();
  appInstalled.catch(() => undefined); // awaited (and reported) by the upcall tests
}, 240_000);

afterAll(async () => {
  await appInstalled?.catch(() => undefined);
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('upcall-verify, installed from its tarball in an empty project', () => {
  let project: string;

  beforeAll(async () => {
    project = join(work, 'verify-only');
    await emptyProject(project);
    // --offline: a package with no dependencies needs nothing from the registry.
    await mustRun('npm', ['install', '--offline', ...NPM_FLAGS, verifyTarball], project);
  }, 120_000);

  it('has no dependencies, no install scripts and no native module in its tree', async () => {
    const manifest = JSON.parse(
      await readFile(join(project, 'node_modules', 'upcall-verify', 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies']) {
      expect(manifest[field], field).toBeUndefined();
    }
    const scripts = (manifest.scripts ?? {}) as Record<string, string>;
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(scripts[hook], hook).toBeUndefined();
    // The whole tree: upcall-verify is the only package installed.
    const installed = (await readdir(join(project, 'node_modules'))).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['upcall-verify']);
    const files = await filesUnder(join(project, 'node_modules'));
    expect(files.filter((file) => /binding\.gyp$|\.node$/.test(file))).toEqual([]);
    expect(files).toContain(join('upcall-verify', 'dist', 'index.d.ts'));
  });

  it('verifies a real OSS-signed callback through its node:http adapter, and refuses a forged one', async () => {
    const vector = REAL_VECTORS[2]!;
    const script = `
import { createServer } from 'node:http';
import { createNodeHandler, createPublicKeyResolver } from 'upcall-verify';
const resolver = createPublicKeyResolver({ publicKey: ${JSON.stringify(OSS_PUBLIC_KEY_PEM)} });
const server = createServer(createNodeHandler({ resolver, onVerified: (cb) => ({ Status: 'OK', size: cb.size ?? null }) }));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = 'http://127.0.0.1:' + server.address().port + ${JSON.stringify(vector.target)};
const headers = ${JSON.stringify(vectorHeaders(vector, 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem'))};
const genuine = await fetch(url, { method: 'POST', headers, body: ${JSON.stringify(vector.body)} });
const forged = await fetch(url, { method: 'POST', headers, body: ${JSON.stringify(vector.body.replace('108904', '108905'))} });
console.log(JSON.stringify({ genuine: [genuine.status, await genuine.json()], forged: forged.status }));
server.close();
`;
    await writeFile(join(project, 'check.mjs'), script);
    const ran = await mustRun(process.execPath, ['check.mjs'], project);
    expect(JSON.parse(ran.stdout)).toEqual({ genuine: [200, { Status: 'OK', size: 108904 }], forged: 400 });
  });

  it('type-checks every adapter without Express or Fastify installed', async () => {
    await writeFile(
      join(project, 'check.ts'),
      `import type { IncomingMessage } from 'node:http';
import {
  createExpressHandler, createNodeHandler, createPublicKeyResolver, handleOssCallback, ossCallbackMiddleware,
  ossCallbackPlugin, verifyOssCallback, type VerifiedCallback,
} from 'upcall-verify';
const resolver = createPublicKeyResolver({ keyUrlAllowlist: ['http://127.0.0.1:9000'] });
export const viaGlobalFetch = createPublicKeyResolver({ keyUrlAllowlist: ['http://127.0.0.1:9000'], fetch });
export const node: (req: IncomingMessage, res: import('node:http').ServerResponse) => void = createNodeHandler({ resolver });
export const express = [ossCallbackMiddleware({ resolver }), createExpressHandler({ resolver })];
export const fastify = ossCallbackPlugin;
export const web: (request: Request) => Promise<Response> = (request) => handleOssCallback(request, { resolver });
export const verified: Promise<VerifiedCallback> = verifyOssCallback({ method: 'POST', target: '/', headers: {}, body: new Uint8Array() });
`,
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
          // Checking all of @types/node costs 30 s; the package's own declarations are checked
          // for foreign imports below.
          skipLibCheck: true,
        },
        files: ['check.ts'],
      }),
    );
    const ran = await run(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
      project,
    );
    expect(ran.stdout + ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    // Its declarations name no package at all (no Express, Fastify or undici types): only node:
    // built-ins and its own files.
    const dist = join(project, 'node_modules', 'upcall-verify', 'dist');
    const imported = new Set<string>();
    for (const file of (await filesUnder(dist)).filter((name) => name.endsWith('.d.ts'))) {
      const text = await readFile(join(dist, file), 'utf8');
      for (const match of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) imported.add(match[1]!);
    }
    expect([...imported].filter((name) => !/^(node:|\.\.?\/)/.test(name))).toEqual([]);
    expect(imported).toContain('node:http');
  }, 60_000);
});

describe('upcall, installed from its tarball in an empty project', () => {
  let project: string;
  let dev: ChildProcess | undefined;
  let devOut = '';
  const env = {
    UPCALL_ACCESS_KEY_ID: 'LTAIpacked',
    UPCALL_ACCESS_KEY_SECRET: 'packed-secret',
    LOG_LEVEL: 'warn',
  };

  beforeAll(async () => {
    project = await appInstalled;

    // detached: npx runs upcall in a child of its own; the whole group is stopped in afterAll.
    const child = spawn('npx', ['upcall', 'dev', '--port', '0', '--receiver-port', '0'], {
      cwd: project,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    dev = child;
    let devErr = '';
    child.stdout?.on('data', (chunk: Buffer) => (devOut += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (devErr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${devErr}`)), 60_000);
      child.stdout?.on('data', () => {
        if (devOut.includes('Press Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npx upcall dev exited ${String(code)}: ${devErr}`));
      });
    });
  }, 180_000);

  afterAll(async () => {
    if (dev?.pid !== undefined && dev.exitCode === null) {
      const exited = once(dev, 'exit');
      process.kill(-dev.pid, 'SIGTERM');
      await exited;
    }
  });

  it('installs neither tsx, ali-oss nor sources: bin runs the compiled build', async () => {
    const installed = await readdir(join(project, 'node_modules'));
    expect(installed).not.toContain('tsx');
    expect(installed).not.toContain('ali-oss');
    const upcall = await readdir(join(project, 'node_modules', 'upcall'));
    expect(upcall).not.toContain('src');
    expect(upcall).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
  });

  it('prints a banner whose commands are npx upcall …', () => {
    expect(devOut).toMatch(/^ {2}npx upcall put /m);
    expect(devOut).not.toContain('bin/upcall.js');
  });

  it("serves a PUT with a callback: the banner's own command uploads and prints the app server's reply", async () => {
    const command = /^ {2}(npx upcall put .*)$/m.exec(devOut)?.[1] ?? '';
    await writeFile(join(project, 'hello.txt'), 'hello from the packed package\n');
    const ran = await run('bash', ['-c', command.replace('put package.json', 'put hello.txt')], project, env);
    expect(ran, ran.stderr).toMatchObject({ code: 0 });
    expect(ran.stdout).toContain('Status');
  }, 60_000);

  it('serves the demo page the ali-oss browser build it carries', async () => {
    const receiver = /Browser demo\s+(\S+)\/demo/.exec(devOut)?.[1] ?? '';
    const sdk = await fetch(`${receiver}/vendor/aliyun-oss-sdk.min.js`);
    expect(sdk.status).toBe(200);
    expect((await sdk.text()).length).toBeGreaterThan(100_000);
  });

  it('without that build (and no ali-oss installed), the demo says to npm install ali-oss', async () => {
    const vendor = join(project, 'node_modules', 'upcall', 'dist', 'receiver', 'dashboard', 'vendor');
    await rm(vendor, { recursive: true });
    const child = spawn('npx', ['upcall', 'receiver', '--port', '0', '--data', join(work, 'receiver-data')], {
      cwd: project,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      let out = '';
      const dashboard = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`upcall receiver not ready: ${out}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const url = /^dashboard: (http:\/\/\S+)$/m.exec(out)?.[1];
          if (url !== undefined) {
            clearTimeout(timer);
            resolve(url);
          }
        });
      });
      const sdk = await fetch(new URL('/vendor/aliyun-oss-sdk.min.js', dashboard));
      expect(sdk.status).toBe(404);
      expect(await sdk.text()).toContain('npm install ali-oss');
    } finally {
      const exited = once(child, 'exit');
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  }, 90_000);
});
