/**
 * The V1 CanonicalizedResource (SPEC.md §8.3): `/<bucket>/<object key>` followed by the signed
 * sub-resources, sorted, as `?k1&k2=v2…`.
 *
 * Invariants (all from ali-oss signUtils.buildCanonicalizedResource, the oracle):
 * - bucket and key are the decoded names (the HTTP layer resolves virtual-host vs path style);
 *   no bucket gives `/`, a bucket without key gives `/<bucket>/`.
 * - only whitelisted keys (sub-resources.ts) are included, sorted by UTF-16 code unit order
 *   (JavaScript's default sort, which ali-oss uses); values are the decoded values, unencoded;
 *   an empty value gives the bare key (`?uploads`, even when the wire form was `uploads=`).
 * - a key repeated in the query counts once, with its first value.
 */
import { isSignedSubResource } from './sub-resources.ts';

export type QueryPairs = Iterable<readonly [string, string]>;

export interface ResourceTarget {
  bucket?: string | undefined;
  key?: string | undefined;
}

export function resourcePath(target: ResourceTarget): string {
  if (target.bucket === undefined || target.bucket === '') return '/';
  return `/${target.bucket}/${target.key ?? ''}`;
}

export function canonicalizedResource(target: ResourceTarget, query: QueryPairs): string {
  const subResources = new Map<string, string>();
  for (const [name, value] of query) {
    if (isSignedSubResource(name) && !subResources.has(name)) subResources.set(name, value);
  }
  const path = resourcePath(target);
  if (subResources.size === 0) return path;
  const parts = [...subResources.keys()].sort().map((name) => {
    const value = subResources.get(name) ?? '';
    return value === '' ? name : `${name}=${value}`;
  });
  return `${path}?${parts.join('&')}`;
}
