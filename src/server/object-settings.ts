/**
 * Object ACL and object tags on the wire: the `x-oss-object-acl` and `x-oss-tagging` request
 * headers (or PostObject form fields of those names), with `x-oss-storage-class` → ObjectSettings, the tag rules every way of
 * setting tags shares, and the ACL that decides anonymous access to an object.
 *
 * Invariants: nothing but the four OSS ACL names reaches the store (InvalidArgument, as OSS); a
 * tag set that breaks the OSS limits (10 tags, unique keys, key 1…128 and value 0…256 characters)
 * is refused whole (InvalidTag), never trimmed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isOssError, ossError } from '../shared/oss-error.ts';
import type { BucketAcl, ObjectAcl, ObjectSettings, ObjectStore, ObjectTag } from '../store/object-store.ts';
import { serverSideEncryptionHeader } from './server-side-encryption.ts';
import { storageClassHeader } from './storage-class.ts';

const OBJECT_ACLS: ReadonlySet<string> = new Set<ObjectAcl>([
  'default',
  'private',
  'public-read',
  'public-read-write',
]);

/** OSS object tagging limits (PutObjectTagging reference). */
export const MAX_TAGS = 10;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The `x-oss-object-acl` asked for, or undefined when absent. @throws InvalidArgument */
export function objectAclHeader(headers: IncomingHttpHeaders): ObjectAcl | undefined {
  const value = first(headers['x-oss-object-acl']);
  if (value === undefined) return undefined;
  const acl = value.trim();
  if (!OBJECT_ACLS.has(acl)) {
    throw ossError('InvalidArgument', {
      message: 'no such object access control exists',
      details: { ArgumentName: 'x-oss-object-acl', ArgumentValue: value },
    });
  }
  return acl as ObjectAcl;
}

/**
 * `x-oss-tagging: k1=v1&k2=v2`, keys and values URL-encoded; a pair without `=` has an empty
 * value (OSS CopyObject reference). Undefined when absent.
 * @throws InvalidArgument (not `key` or `key=value` pairs, bad percent-encoding) | InvalidTag
 */
export function taggingHeader(headers: IncomingHttpHeaders): ObjectTag[] | undefined {
  const value = first(headers['x-oss-tagging']);
  if (value === undefined) return undefined;
  const invalid = () =>
    ossError('InvalidArgument', {
      message: 'The x-oss-tagging header must be key=value pairs joined by &.',
      details: { ArgumentName: 'x-oss-tagging', ArgumentValue: value },
    });
  const tags: ObjectTag[] = [];
  // FIDELITY: empty pairs (`a=1&&b=2`, a trailing `&`) are skipped, and `+` decodes to a space as
  // in a URL query; OSS documents neither.
  for (const pair of value.split('&')) {
    if (pair === '') continue;
    const parts = pair.split('=');
    if (parts.length > 2) throw invalid();
    try {
      tags.push({ key: decodeComponent(parts[0] ?? ''), value: decodeComponent(parts[1] ?? '') });
    } catch {
      throw invalid();
    }
  }
  checkTags(tags);
  return tags;
}

function decodeComponent(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

/**
 * The OSS limits on one object's tag set.
 * FIDELITY: any UTF-8 characters are accepted (OSS lists letters, digits, space and `+-=._:/`, but
 * also says other characters must be URL-encoded in the header, so it stores them); lengths are
 * counted in characters (code points).
 * @throws InvalidTag
 */
export function checkTags(tags: readonly ObjectTag[]): void {
  if (tags.length > MAX_TAGS) {
    throw ossError('InvalidTag', { message: `An object can have at most ${MAX_TAGS} tags.` });
  }
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    const keyLength = [...key].length;
    if (keyLength === 0 || keyLength > MAX_TAG_KEY_LENGTH) {
      throw ossError('InvalidTag', {
        message: `A tag key must be 1 to ${MAX_TAG_KEY_LENGTH} characters long.`,
        details: { TagKey: key },
      });
    }
    if ([...value].length > MAX_TAG_VALUE_LENGTH) {
      throw ossError('InvalidTag', {
        message: `A tag value can be at most ${MAX_TAG_VALUE_LENGTH} characters long.`,
        details: { TagKey: key },
      });
    }
    if (seen.has(key)) {
      throw ossError('InvalidTag', { message: 'Tag keys must be unique.', details: { TagKey: key } });
    }
    seen.add(key);
  }
}

/**
 * The ACL, tags, storage class and server-side encryption an upload asks for (headers, or
 * PostObject fields in the same shape); the bucket's default encryption is added by
 * withBucketEncryption. @throws InvalidArgument | InvalidTag | InvalidEncryptionAlgorithmError
 */
export function objectSettingsFromHeaders(headers: IncomingHttpHeaders): ObjectSettings {
  const settings: ObjectSettings = {};
  const acl = objectAclHeader(headers);
  if (acl !== undefined) settings.acl = acl;
  const tags = taggingHeader(headers);
  if (tags !== undefined) settings.tags = tags;
  const storageClass = storageClassHeader(headers);
  if (storageClass !== undefined) settings.storageClass = storageClass;
  const encryption = serverSideEncryptionHeader(headers);
  if (encryption !== undefined) settings.serverSideEncryption = encryption;
  return settings;
}

/**
 * The ACL that governs anonymous access to an object: its own, unless that is `default` (or the
 * object does not exist), then the bucket's (OSS: object ACL takes precedence over bucket ACL).
 * @throws NoSuchBucket
 */
export async function effectiveObjectAcl(
  store: Pick<ObjectStore, 'headObject'>,
  bucket: string,
  key: string,
  bucketAcl: BucketAcl,
): Promise<BucketAcl> {
  try {
    const { acl } = await store.headObject(bucket, key);
    return acl === 'default' ? bucketAcl : acl;
  } catch (error) {
    if (isOssError(error) && error.code === 'NoSuchKey') return bucketAcl;
    throw error;
  }
}
