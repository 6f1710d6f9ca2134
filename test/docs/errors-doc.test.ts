/** docs/errors.md and the error catalogue list the same codes with the same statuses. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OSS_ERRORS } from '../../src/shared/oss-error-catalogue.ts';

describe('docs/errors.md', () => {
  it('lists exactly the catalogue codes, with the catalogue statuses', async () => {
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Map<string, number>();
    for (const match of doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(\d{3})\s*\|/gm)) {
      const [, code = '', status = ''] = match;
      expect(documented.has(code), `${code} documented twice`).toBe(false);
      documented.set(code, Number(status));
    }
    const catalogue = new Map(Object.entries(OSS_ERRORS).map(([code, entry]) => [code, entry.status]));
    expect([...documented.keys()].sort()).toEqual([...catalogue.keys()].sort());
    for (const [code, status] of catalogue) expect(documented.get(code), code).toBe(status);
  });
});
