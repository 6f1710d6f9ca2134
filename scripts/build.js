// `npm run build` (also run by `npm ci` through `prepare`): compiles src/ to dist/ with tsc and
// copies the dashboard's static files beside the compiled code. bin/upcall.js runs dist/ when it
// is at least as new as every file in src/, so the CLI starts in a fraction of the time and
// memory that compiling on the fly costs, and never runs a stale build.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
cpSync(`${root}src/receiver/dashboard/static`, `${root}dist/receiver/dashboard/static`, { recursive: true });
// Written last: its mtime is what bin/upcall.js compares the sources against.
writeFileSync(`${root}dist/.built`, `${new Date().toISOString()}\n`);
