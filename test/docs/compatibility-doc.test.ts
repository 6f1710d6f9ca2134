/**
 * docs/compatibility.md and the `FIDELITY:` markers in src/ and packages/verify/src/ name the same files: every source file
 * that marks a choice made where OSS behaviour is uncertain is listed in the table, every file the
 * table names exists, and each file holds at least one marker per row that names it (a row is
 * marked at the code it describes; one choice may be marked in more than one place).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Source files (repo-relative, `/`-separated) and how many `FIDELITY:` markers each holds. */
async function markerCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const dir of ['src', 'packages/verify/src']) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
      const path = join(entry.parentPath, entry.name);
      const markers = (await readFile(path, 'utf8')).split('FIDELITY:').length - 1;
      if (markers > 0) counts.set(relative(root, path).split('\\').join('/'), markers);
    }
  }
  return counts;
}

/** Source files the table's `where` column names, and in how many rows each. */
async function rowCounts(): Promise<Map<string, number>> {
  const doc = await readFile(join(root, 'docs/compatibility.md'), 'utf8');
  const counts = new Map<string, number>();
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line)) continue;
    const where = line.split('|').at(-2) ?? '';
    for (const path of new Set(where.match(/(?:packages\/verify\/)?src\/[\w./-]+\.ts/g) ?? [])) {
      counts.set(path, (counts.get(path) ?? 0) + 1);
    }
  }
  return counts;
}

describe('docs/compatibility.md', () => {
  it('lists every file with a FIDELITY: marker, and only those', async () => {
    const [markers, rows] = await Promise.all([markerCounts(), rowCounts()]);
    expect(rows.size).toBeGreaterThan(0);
    expect([...rows.keys()].sort()).toEqual([...markers.keys()].sort());
  });

  it('has a FIDELITY: marker in each file for every row that names it', async () => {
    const [markers, rows] = await Promise.all([markerCounts(), rowCounts()]);
    const short = [...rows]
      .filter(([path, count]) => (markers.get(path) ?? 0) < count)
      .map(([path, count]) => `${path}: ${count} rows, ${markers.get(path) ?? 0} markers`);
    expect(short).toEqual([]);
  });
});
