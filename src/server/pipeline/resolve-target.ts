/**
 * Where a request points: service, bucket or object, from the Host header and the raw path.
 *
 * - Virtual-host style: a Host that is a name (not an IP) with at least one dot names the bucket
 *   in its first label, e.g. `photos.oss-cn-hangzhou.aliyuncs.com` (what ali-oss sends for an IP
 *   endpoint, SPEC.md §8.3) or `photos.localhost`; the whole path is the key.
 * - Path style: any other Host (an IP, `localhost`, or a name listed in `pathStyleHosts`) takes
 *   the bucket from the first path segment and the key from the rest.
 *
 * Invariant: the key is percent-decoded exactly once, byte-wise, as strict UTF-8, and validated;
 * the bucket is a valid bucket name.
 */
import { isIP } from 'node:net';
import { validateBucketName } from '../../shared/bucket-name.ts';
import { decodeObjectKey, validateObjectKey } from '../../shared/object-key.ts';

export interface RequestTarget {
  bucket?: string;
  key?: string;
}

export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    return end === -1 ? hostHeader : hostHeader.slice(1, end);
  }
  const colon = hostHeader.lastIndexOf(':');
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

/** The bucket named by a virtual-host style Host, or undefined for path style. */
export function virtualHostBucket(
  hostHeader: string,
  pathStyleHosts: ReadonlySet<string>,
): string | undefined {
  const hostname = hostnameOf(hostHeader);
  if (hostname === '' || isIP(hostname) !== 0 || pathStyleHosts.has(hostname)) return undefined;
  const dot = hostname.indexOf('.');
  if (dot <= 0) return undefined;
  return hostname.slice(0, dot);
}

/** @throws InvalidBucketName | InvalidObjectName | KeyTooLong */
export function resolveTarget(
  hostHeader: string,
  rawPath: string,
  pathStyleHosts: ReadonlySet<string>,
): RequestTarget {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  const hostBucket = virtualHostBucket(hostHeader, pathStyleHosts);
  let bucket: string | undefined;
  let rawKey: string;
  if (hostBucket !== undefined) {
    bucket = hostBucket;
    rawKey = path;
  } else {
    if (path === '') return {};
    const slash = path.indexOf('/');
    bucket = slash === -1 ? path : path.slice(0, slash);
    rawKey = slash === -1 ? '' : path.slice(slash + 1);
  }
  validateBucketName(bucket);
  if (rawKey === '') return { bucket };
  const key = decodeObjectKey(rawKey);
  validateObjectKey(key);
  return { bucket, key };
}
