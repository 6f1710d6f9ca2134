import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  commonPrefixOf,
  compareUtf8,
  type FetchKeyRange,
  type KeyRangeQuery,
  listObjectsPage,
  type ListObjectsPageQuery,
} from './list-objects-page.ts';

interface Item {
  key: string;
}

/** A key-ordered store page API over a fixed key set, counting calls. */
function keyRange(keys: readonly string[]): { fetch: FetchKeyRange<Item>; calls: KeyRangeQuery[] } {
  const sorted = [...new Set(keys)].sort(compareUtf8).map((key) => ({ key }));
  const calls: KeyRangeQuery[] = [];
  const fetch: FetchKeyRange<Item> = async (query) => {
    calls.push(query);
    expect(query.maxKeys).toBeGreaterThanOrEqual(1);
    expect(query.maxKeys).toBeLessThanOrEqual(1000);
    const matching = sorted.filter(
      (item) =>
        item.key.startsWith(query.prefix ?? '') &&
        (query.after === undefined || compareUtf8(item.key, query.after) > 0),
    );
    return { objects: matching.slice(0, query.maxKeys), isTruncated: matching.length > query.maxKeys };
  };
  return { fetch, calls };
}

type Entry = { kind: 'key' | 'prefix'; value: string };

/** The whole listing, computed the obvious way. */
function oneShot(keys: readonly string[], prefix: string, delimiter: string): Entry[] {
  const entries: Entry[] = [];
  for (const key of [...new Set(keys)].sort(compareUtf8)) {
    if (!key.startsWith(prefix)) continue;
    const common = commonPrefixOf(key, prefix, delimiter);
    if (common === undefined) entries.push({ kind: 'key', value: key });
    else if (entries.at(-1)?.value !== common) entries.push({ kind: 'prefix', value: common });
  }
  return entries;
}

function entriesOf(page: { objects: Item[]; commonPrefixes: string[] }): Entry[] {
  return [
    ...page.objects.map((o): Entry => ({ kind: 'key', value: o.key })),
    ...page.commonPrefixes.map((p): Entry => ({ kind: 'prefix', value: p })),
  ].sort((a, b) => compareUtf8(a.value, b.value));
}

async function pageThrough(
  keys: readonly string[],
  query: Omit<ListObjectsPageQuery, 'after'>,
): Promise<Entry[][]> {
  const { fetch } = keyRange(keys);
  const pages: Entry[][] = [];
  let after = '';
  for (let round = 0; round < 10_000; round++) {
    const page = await listObjectsPage(fetch, { ...query, after });
    const entries = entriesOf(page);
    expect(entries.length).toBeLessThanOrEqual(query.maxKeys);
    pages.push(entries);
    if (!page.isTruncated) return pages;
    expect(entries.length).toBe(query.maxKeys);
    expect(page.nextAfter).toBe(entries.at(-1)?.value);
    after = page.nextAfter ?? '';
  }
  throw new Error('paging did not end');
}

describe('listObjectsPage', () => {
  const keys = ['a', 'b/1', 'b/2', 'b/3', 'c', 'd/x/1', 'd/y', 'e'];

  it('folds keys into common prefixes that count toward max-keys', async () => {
    const { fetch } = keyRange(keys);
    const page = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 3 });
    expect(page.objects.map((o) => o.key)).toEqual(['a', 'c']);
    expect(page.commonPrefixes).toEqual(['b/']);
    expect(page.isTruncated).toBe(true);
    expect(page.nextAfter).toBe('c');
  });

  it('continues after a common prefix without repeating it', async () => {
    const { fetch } = keyRange(keys);
    const page = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: 'b/', maxKeys: 10 });
    expect(page.objects.map((o) => o.key)).toEqual(['c', 'e']);
    expect(page.commonPrefixes).toEqual(['d/']);
    expect(page.isTruncated).toBe(false);
    expect(page.nextAfter).toBeUndefined();
  });

  it('is not truncated when only keys of the last common prefix follow', async () => {
    const { fetch } = keyRange(['a', 'b/1', 'b/2', 'b/3']);
    const page = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 2 });
    expect(page.objects.map((o) => o.key)).toEqual(['a']);
    expect(page.commonPrefixes).toEqual(['b/']);
    expect(page.isTruncated).toBe(false);
  });

  it('skips a large common prefix in a few store calls, not one per key', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `logs/${String(i).padStart(5, '0')}`);
    const { fetch, calls } = keyRange([...many, 'z']);
    const page = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 100 });
    expect(page.commonPrefixes).toEqual(['logs/']);
    expect(page.objects.map((o) => o.key)).toEqual(['z']);
    expect(calls.length).toBeLessThanOrEqual(3);
  });

  it('lists under a prefix with the delimiter applied after it', async () => {
    const { fetch } = keyRange(keys);
    const page = await listObjectsPage(fetch, { prefix: 'd/', delimiter: '/', after: '', maxKeys: 10 });
    expect(page.objects.map((o) => o.key)).toEqual(['d/y']);
    expect(page.commonPrefixes).toEqual(['d/x/']);
  });

  it('a marker inside a common prefix still reports that prefix for the keys after it', async () => {
    const { fetch } = keyRange(keys);
    const page = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: 'b/1', maxKeys: 10 });
    expect(page.commonPrefixes).toEqual(['b/', 'd/']);
  });

  it('handles keys holding the largest code point after a common prefix', async () => {
    const odd = ['p/\u{10FFFF}', 'p/\u{10FFFF}x', 'p/a', 'q'];
    const { fetch } = keyRange(odd);
    const first = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 1 });
    expect(first.commonPrefixes).toEqual(['p/']);
    const second = await listObjectsPage(fetch, { prefix: '', delimiter: '/', after: 'p/', maxKeys: 1 });
    expect(second.objects.map((o) => o.key)).toEqual(['q']);
    expect(second.commonPrefixes).toEqual([]);
  });

  it('property: paging with any max-keys and delimiter yields exactly the one-shot listing', async () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '-', 'é', '\uFFFF', '\u{10FFFF}', '\u{1F600}');
    const key = fc.array(alphabet, { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(key, { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom('', '/', 'a', 'b/', '\u{10FFFF}'),
        fc.constantFrom('', 'a', 'b', 'a/', '/'),
        async (keySet, maxKeys, delimiter, prefix) => {
          const pages = await pageThrough(keySet, { prefix, delimiter, maxKeys });
          expect(pages.flat()).toEqual(oneShot(keySet, prefix, delimiter));
          const { fetch } = keyRange(keySet);
          const whole = await listObjectsPage(fetch, { prefix, delimiter, after: '', maxKeys: 1000 });
          expect(entriesOf(whole)).toEqual(oneShot(keySet, prefix, delimiter));
        },
      ),
      { numRuns: 300 },
    );
  });
});
