/**
 * docs/compatibility.md and the `FIDELITY:` markers in src/ name the same files: every source file
 * that marks a choice made where OSS behaviour is uncertain is listed in the table, every file the
 * table names exists and still holds a marker.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Source files (repo-relative, `/`-separated) with at least one `FIDELITY:` marker. */
async function markedFiles(): Promise<Set<string>> {
  const marked = new Set<string>();
  for (const entry of await readdir(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path, 'utf8')).includes('FIDELITY:'))
      marked.add(relative(root, path).split('\\').join('/'));
  }
  return marked;
}

/** Source files the table's `where` column names. */
async function listedFiles(): Promise<Set<string>> {
  const doc = await readFile(join(root, 'docs/compatibility.md'), 'utf8');
  const listed = new Set<string>();
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line)) continue;
    const where = line.split('|').at(-2) ?? '';
    for (const path of where.match(/src\/[\w./-]+\.ts/g) ?? []) listed.add(path);
  }
  return listed;
}

describe('docs/compatibility.md', () => {
  it('lists every file with a FIDELITY: marker, and only those', async () => {
    const [marked, listed] = await Promise.all([markedFiles(), listedFiles()]);
    expect(listed.size).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual([...marked].sort());
  });
});
