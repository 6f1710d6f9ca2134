#!/usr/bin/env node
// The upcall command. Installed from npm, the package has no sources, only the compiled dist/, and
// this runs it. In a checkout of the repository (src/ is there) it runs dist/ when the build is at
// least as new as every source file (src/ and the upcall-verify workspace); otherwise it runs the
// TypeScript sources through tsx's loader (a devDependency), so an edited checkout never runs a
// stale build (docs/architecture.md "A build step"). Compiled, the server starts in well under a
// second and idles at a fraction of the memory the loader costs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const sources = [join(root, 'src'), join(root, 'packages', 'verify', 'src')];

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtMtimeMs() {
  try {
    return statSync(join(root, 'dist', '.built')).mtimeMs;
  } catch {
    return -1;
  }
}

const checkout = existsSync(join(root, 'src', 'cli', 'main.ts'));
const stale =
  checkout && builtMtimeMs() < Math.max(...sources.filter((dir) => existsSync(dir)).map(newestMtimeMs));
if (!stale) {
  await import('../dist/cli/main.js');
} else {
  // The checkout's tsconfig.json, wherever the command runs from: its `paths` map upcall-verify
  // to the workspace's sources. Through the environment, so worker threads' loaders get it too.
  process.env.TSX_TSCONFIG_PATH ??= join(root, 'tsconfig.json');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
