/**
 * One page of ListObjects / ListObjectsV2: folds the keys of the store's plain key-ordered pages
 * (prefix + exclusive lower bound + max-keys) into Contents and CommonPrefixes, and decides
 * truncation and where the next page starts.
 *
 * Invariants:
 * - A page holds at most `maxKeys` distinct entries, Contents and CommonPrefixes together (OSS
 *   counts both toward max-keys).
 * - A common prefix that spans many keys is one entry: the fold skips the rest of its keys with
 *   one store call (`<prefix><U+10FFFF>` bound) instead of paging through them, and never repeats
 *   it on the same page nor on the next one (`after` equal to a common prefix skips it).
 * - `isTruncated` is true only when another distinct entry follows the page, so listing page by
 *   page (`after` = `nextAfter`) yields exactly the one-shot listing.
 * Pure apart from the `fetch` it is given; keys compare in UTF-8 byte order, as the store sorts.
 */

/** What the fold needs from a stored object. */
export interface Keyed {
  readonly key: string;
}

export interface KeyRangeQuery {
  prefix?: string;
  /** Exclusive lower bound. */
  after?: string;
  /** 1..1000 */
  maxKeys: number;
}

export interface KeyRangePage<T extends Keyed> {
  objects: T[];
  isTruncated: boolean;
}

/** Keys in UTF-8 byte order that start with `prefix` and sort after `after` (ObjectStore.listObjects). */
export type FetchKeyRange<T extends Keyed> = (query: KeyRangeQuery) => Promise<KeyRangePage<T>>;

export interface ListObjectsPageQuery {
  prefix: string;
  /** Empty: no folding. */
  delimiter: string;
  /** Exclusive start: marker, start-after or the decoded continuation token; empty for the start. */
  after: string;
  /** 1..1000 */
  maxKeys: number;
}

export interface ListObjectsPageResult<T extends Keyed> {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last entry (key or common prefix) of a truncated page: the next page's `after`. */
  nextAfter?: string;
}

/** The store's largest page (ListQuery.maxKeys is 1..1000). */
const STORE_PAGE_MAX = 1000;

/** The largest code point: `<p>` + it sorts after every key that starts with `<p>` and a lesser character. */
const AFTER_EVERYTHING = '\u{10FFFF}';

export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '' || !key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}

export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export async function listObjectsPage<T extends Keyed>(
  fetch: FetchKeyRange<T>,
  query: ListObjectsPageQuery,
): Promise<ListObjectsPageResult<T>> {
  const { prefix, delimiter, after, maxKeys } = query;
  const objects: T[] = [];
  const commonPrefixes: string[] = [];
  // The common prefix the fold is inside of; its keys are skipped. Starting after a common
  // prefix (the NextMarker of a page that ended on it) continues past all of its keys.
  // FIDELITY: a marker equal to a common prefix skips that prefix's keys, so paging with NextMarker
  // never repeats a CommonPrefixes entry; a marker inside a prefix (`a/m`) still reports `a/`.
  let currentPrefix = after !== '' && commonPrefixOf(after, prefix, delimiter) === after ? after : undefined;
  let cursor = currentPrefix !== undefined ? currentPrefix + AFTER_EVERYTHING : after;
  let lastEntry: string | undefined;

  for (;;) {
    const room = maxKeys - objects.length - commonPrefixes.length;
    const page = await fetch({
      ...(prefix !== '' && { prefix }),
      ...(cursor !== '' && { after: cursor }),
      maxKeys: Math.min(STORE_PAGE_MAX, room + 1),
    });
    let lastKey: string | undefined;
    for (const object of page.objects) {
      lastKey = object.key;
      if (!object.key.startsWith(prefix)) continue;
      const common = commonPrefixOf(object.key, prefix, delimiter);
      if (common !== undefined && common === currentPrefix) continue;
      if (objects.length + commonPrefixes.length >= maxKeys) {
        return {
          objects,
          commonPrefixes,
          isTruncated: true,
          ...(lastEntry !== undefined && { nextAfter: lastEntry }),
        };
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        currentPrefix = common;
        lastEntry = common;
      } else {
        objects.push(object);
        lastEntry = object.key;
      }
    }
    if (!page.isTruncated || lastKey === undefined) return { objects, commonPrefixes, isTruncated: false };
    cursor = nextCursor(lastKey, currentPrefix);
  }
}

/** Where the next store page starts: past the whole common prefix when the last key was folded. */
function nextCursor(lastKey: string, currentPrefix: string | undefined): string {
  if (currentPrefix === undefined || !lastKey.startsWith(currentPrefix)) return lastKey;
  const skip = currentPrefix + AFTER_EVERYTHING;
  return compareUtf8(lastKey, skip) > 0 ? lastKey : skip;
}
