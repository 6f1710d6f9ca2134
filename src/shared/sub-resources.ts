/**
 * The sub-resource whitelist of OSS signature V1: which query parameters enter the
 * CanonicalizedResource (SPEC.md §8.3). Every other query parameter (listing params such as
 * `prefix`, `marker`, `max-keys`) is sent unsigned, exactly as ali-oss sends it.
 *
 * Invariant: the set is the union of oss2's `_subresource_key_set` (auth.py, newest version) and the
 * Go v2 SDK's `requiredSignedParametersMap`, plus every key ali-oss 6.x puts into `subres`; a key
 * outside it is never signed, so a client and upcall agree on every request the SDKs can send.
 */

const SIGNED_SUB_RESOURCES: ReadonlySet<string> = new Set([
  // oss2 (aliyun-oss-python-sdk, oss2/auth.py ProviderAuth._subresource_key_set)
  'acl',
  'uploadId',
  'uploads',
  'partNumber',
  'group',
  'link',
  'delete',
  'website',
  'location',
  'objectInfo',
  'objectMeta',
  'cors',
  'lifecycle',
  'logging',
  'restore',
  'qos',
  'referer',
  'stat',
  'bucketInfo',
  'append',
  'position',
  'security-token',
  'live',
  'comp',
  'status',
  'vod',
  'startTime',
  'endTime',
  'symlink',
  'callback',
  'callback-var',
  'tagging',
  'encryption',
  'versions',
  'versioning',
  'versionId',
  'policy',
  'requestPayment',
  'qosInfo',
  'asyncFetch',
  'sequential',
  'inventory',
  'inventoryId',
  'continuation-token',
  'worm',
  'wormId',
  'wormExtend',
  'replication',
  'replicationLocation',
  'replicationProgress',
  'transferAcceleration',
  'cname',
  'metaQuery',
  // Go v2 (oss/signer/v1.go requiredSignedParametersMap) adds these
  'regionList',
  'cloudboxes',
  'resourceGroup',
]);

/**
 * True when `key` is signed in a V1 CanonicalizedResource.
 * `response-*` (response header overrides) and `x-oss-*` (x-oss-process, x-oss-traffic-limit, …)
 * are matched by prefix: ali-oss signatureUrl signs any `response-<header>` it is given, and the Go
 * v2 signer signs every `x-oss-` query key.
 */
export function isSignedSubResource(key: string): boolean {
  return SIGNED_SUB_RESOURCES.has(key) || key.startsWith('response-') || key.startsWith('x-oss-');
}
