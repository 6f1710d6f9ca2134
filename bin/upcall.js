#!/usr/bin/env node
// The upcall command. Runs the compiled dist/ when it is at least as new as every file under
// src/ (`npm ci` builds it; `npm run build` rebuilds it); otherwise runs the TypeScript sources
// through tsx's loader, so an edited checkout never runs a stale build. Compiled, the server
// starts in well under a second and idles at a fraction of the memory the loader costs.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

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

if (builtMtimeMs() >= newestMtimeMs(join(root, 'src'))) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
