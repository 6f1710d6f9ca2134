// What `import 'upcall-verify'` costs an app server at start-up (issue 19; bench row verifyImport):
// the package built as it ships (scripts/build.js verify, into a temp dir laid out as
// node_modules/upcall-verify) and imported by a fresh `node` in an empty project. Loading
// node:crypto pulls in about 40 of node's internal modules (streams, webcrypto, …), a third of
// the import's CPU time here; the package loads it at the first signature check or key parse
// instead, so an app that imports the verifier pays for crypto only when a callback arrives.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSS_PUBLIC_KEY_PEM, REAL_VECTORS, vectorHeaders } from '../helpers/receiver-vectors.ts';

const REPO = join(import.meta.dirname, '..', '..');

async function run(args: string[], cwd: string): Promise<string> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}:\n${stderr}`);
  return stdout;
}

let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'upcall-verify-import-'));
  const installed = join(project, 'node_modules', 'upcall-verify');
  await mkdir(installed, { recursive: true });
  await cp(join(REPO, 'packages', 'verify', 'package.json'), join(installed, 'package.json'));
  await run([join(REPO, 'scripts', 'build.js'), 'verify', join(installed, 'dist')], REPO);
  await writeFile(join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
}, 120_000);

afterAll(async () => {
  if (project !== undefined) await rm(project, { recursive: true, force: true });
});

/** The node built-ins (public and internal) a script loaded, as node lists them. */
async function loadedBy(script: string): Promise<{ modules: string[]; output: unknown }> {
  await writeFile(
    join(project, 'probe.mjs'),
    `${script}\nprocess.stdout.write(JSON.stringify({ modules: process.moduleLoadList, output: globalThis.output ?? null }));\n`,
  );
  return JSON.parse(await run(['probe.mjs'], project)) as { modules: string[]; output: unknown };
}

describe('import upcall-verify in an empty project', () => {
  it('ships its code as one module file (each more costs the ESM loader a resolve and a read)', async () => {
    const files = await readdir(join(project, 'node_modules', 'upcall-verify', 'dist'), { recursive: true });
    expect(files.filter((name) => name.endsWith('.js'))).toEqual(['index.js']);
    expect(files).toContain('index.d.ts');
  });

  it('loads neither node:crypto nor node streams until a callback is verified', async () => {
    const bare = await loadedBy('');
    const imported = await loadedBy(
      `import { verifyOssCallback } from 'upcall-verify';\nif (typeof verifyOssCallback !== 'function') process.exit(1);`,
    );
    const added = imported.modules.filter((name) => !bare.modules.includes(name));
    expect(added.filter((name) => /crypto|stream/.test(name))).toEqual([]);
  }, 30_000);

  it('still verifies a real OSS-signed callback, loading node:crypto then', async () => {
    const vector = REAL_VECTORS[0];
    if (vector === undefined) throw new Error('no real vectors');
    const { modules, output } = await loadedBy(
      `import { createPublicKeyResolver, verifyOssCallback } from 'upcall-verify';
const resolver = createPublicKeyResolver({ publicKey: ${JSON.stringify(OSS_PUBLIC_KEY_PEM)} });
const request = ${JSON.stringify({ method: 'POST', target: vector.target, headers: vectorHeaders(vector, 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem'), body: vector.body })};
const verified = await verifyOssCallback({ ...request, body: new TextEncoder().encode(request.body) }, { resolver });
globalThis.output = { verified: verified.verified, target: verified.target };`,
    );
    expect(modules).toContain('NativeModule crypto');
    expect(output).toEqual({ verified: true, target: vector.target });
  }, 30_000);
});
