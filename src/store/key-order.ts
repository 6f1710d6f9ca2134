/**
 * Key order and the ListObjects page rules every backend shares. OSS lists keys in UTF-8 byte
 * order (not UTF-16 code-unit order, which JS string comparison gives: they differ for characters
 * above U+FFFF versus U+E000..U+FFFF), so keys are compared as their UTF-8 bytes.
 *
 * Invariant: with a delimiter, a common prefix counts as one entry toward maxKeys, is returned at
 * most once across pages, and every key it covers is skipped: a page that ends on a common prefix
 * sets `nextAfter` to it, and a listing resuming after it skips the keys it rolls up.
 */
import type { ListPage, ListQuery, StoredObject } from './object-store.ts';

/** Compares two keys by their UTF-8 bytes (Buffer.compare order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The common prefix `key` rolls up into under `query` (prefix + text up to and including the first
 * delimiter after the prefix), or undefined when it is listed as an object.
 */
export function commonPrefixOf(
  key: string,
  prefix: string,
  delimiter: string | undefined,
): string | undefined {
  if (!delimiter) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * Builds a page from objects that are already in key order, all with keys after `query.after` and
 * starting with `query.prefix`, consumed lazily (the loop stops one entry past the page). A backend
 * may seek past the keys under a common prefix itself (fs does, with a range seek); keys it still
 * yields under an already returned prefix are skipped here.
 */
export function buildListPage(query: ListQuery, objects: Iterable<StoredObject>): ListPage {
  const prefix = query.prefix ?? '';
  const after = query.after;
  const page: ListPage = { objects: [], commonPrefixes: [], isTruncated: false };
  let count = 0;
  let lastPrefix: string | undefined;
  let last: string | undefined;
  for (const object of objects) {
    const cp = commonPrefixOf(object.key, prefix, query.delimiter);
    if (cp !== undefined) {
      if (cp === lastPrefix) continue;
      // Resuming after a common prefix (or after a key inside one): the prefix was already returned.
      if (after !== undefined && compareKeys(cp, after) <= 0) continue;
    }
    if (count === query.maxKeys) {
      page.isTruncated = true;
      if (last !== undefined) page.nextAfter = last;
      break;
    }
    count++;
    if (cp !== undefined) {
      page.commonPrefixes.push(cp);
      lastPrefix = cp;
      last = cp;
    } else {
      page.objects.push(object);
      last = object.key;
    }
  }
  return page;
}
