/**
 * How a user runs this CLI from where they are, for the commands the `upcall dev` banner prints
 * (issue 19: it printed `node bin/upcall.js …`, which only works at the root of a checkout).
 *
 * - Installed from npm (the package sits in a `node_modules` folder: a project's, npx's cache or
 *   the global one): `npx upcall`, which finds the package in each of those.
 * - A checkout of the repository, run from its root (or from a directory whose `bin/upcall.js` is
 *   this same file): `node bin/upcall.js`.
 * - A checkout run from anywhere else: `node <absolute path>/bin/upcall.js`.
 */
import { realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: two levels up from src/cli/ or dist/cli/. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function cliInvocation(cwd: string, packageRoot: string = PACKAGE_ROOT): string {
  const root = realPath(packageRoot);
  if (root.split(sep).includes('node_modules')) return 'npx upcall';
  const bin = join(root, 'bin', 'upcall.js');
  if (realPath(join(cwd, 'bin', 'upcall.js')) === bin) return 'node bin/upcall.js';
  return `node ${/^[\w./-]+$/.test(bin) ? bin : `'${bin.replaceAll("'", `'\\''`)}'`}`;
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
