// `npm run build` (also run by `npm ci` through `prepare`, and by `npm pack`): builds the `upcall-verify` workspace
// (packages/verify/src → packages/verify/dist) first, since the root imports it by name, then
// src/ to dist/ with tsc, copies the dashboard's static files beside the compiled code and the
// ali-oss browser build the demo page loads (ali-oss is a devDependency, so the installed package
// carries the one file the page needs instead of depending on all of ali-oss). bin/upcall.js runs
// dist/ when it is at least as new as every source file, so the CLI starts in a fraction of the
// time and memory that compiling on the fly costs, and never runs a stale build.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

function compile(dir) {
  rmSync(`${dir}dist`, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', `${dir}tsconfig.build.json`], { stdio: 'inherit' });
}

/**
 * upcall-verify ships one bundled file beside tsc's declarations: an app server imports it at
 * start-up, and Node 20's ESM loader spent about 20 ms of CPU resolving and reading the package's
 * 13 module files where one file costs 2 (issue 19's import budget is 30 ms; bench/findings.md).
 * @param {string} out
 */
async function buildVerify(out) {
  const dir = `${root}packages/verify/`;
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [tsc, '-p', `${dir}tsconfig.build.json`, '--emitDeclarationOnly', '--outDir', out],
    { stdio: 'inherit' },
  );
  await build({
    entryPoints: [`${dir}src/index.ts`],
    outfile: `${out}/index.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

// `build.js verify [outDir]`: the workspace alone (its prepack, for `npm pack --workspace
// packages/verify`), or into another directory (the import-cost test builds it as it ships).
if (process.argv[2] === 'verify') {
  await buildVerify(process.argv[3] === undefined ? `${root}packages/verify/dist` : resolve(process.argv[3]));
  process.exit(0);
}
await buildVerify(`${root}packages/verify/dist`);
compile(root);
cpSync(`${root}src/receiver/dashboard/static`, `${root}dist/receiver/dashboard/static`, { recursive: true });

// The demo's ali-oss browser build, with its licence. Without ali-oss installed the build still
// succeeds; the demo page then says how to get it (dashboard-handler.ts looks here, then in
// node_modules).
let aliOss;
try {
  aliOss = require.resolve('ali-oss/package.json');
} catch {
  console.warn('build: ali-oss is not installed; the demo page will ask for it (npm install ali-oss)');
}
if (aliOss !== undefined) {
  const vendor = `${root}dist/receiver/dashboard/vendor`;
  mkdirSync(vendor, { recursive: true });
  cpSync(new URL('dist/aliyun-oss-sdk.min.js', `file://${aliOss}`), `${vendor}/aliyun-oss-sdk.min.js`);
  cpSync(new URL('LICENSE', `file://${aliOss}`), `${vendor}/ali-oss.LICENSE`);
}
// Written last: its mtime is what bin/upcall.js compares the sources against.
writeFileSync(`${root}dist/.built`, `${new Date().toISOString()}\n`);
