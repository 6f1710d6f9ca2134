/**
 * AppendObject rules shared by the backends: when an append is allowed, and what the object looks
 * like after it.
 * FIDELITY: metadata, tags and the storage class are set by the append that creates the object (position 0); later
 * appends keep them whatever headers they carry. An ACL is applied by any append that names one
 * (OSS: `x-oss-object-acl` on a write has the effect of PutObjectACL).
 */
import { createHash } from 'node:crypto';
import { crc64Combine } from '../shared/crc64.ts';
import { etagFromMd5 } from '../shared/etag.ts';
import { ossError } from '../shared/oss-error.ts';
import type { ReceivedBody } from './hashing/hashing-writer.ts';
import { positionNotEqualToLength } from './store-errors.ts';
import type { ObjectMeta, ObjectSettings, StoredObject } from './object-store.ts';

/** @throws ObjectNotAppendable (a Normal or Multipart object is there) | PositionNotEqualToLength */
export function checkAppendable(current: StoredObject | undefined, position: number): void {
  if (current && current.type !== 'Appendable')
    throw ossError('ObjectNotAppendable', { details: { Key: current.key } });
  const length = current?.size ?? 0;
  if (position !== length) throw positionNotEqualToLength(length);
}

/**
 * The object after appending `received` to `current` (undefined: the append creates it).
 * FIDELITY: OSS documents no ETag algorithm for appendable objects; ours chains MD5s
 * (MD5(previous ETag bytes ‖ MD5 of the appended bytes)), so a one-append object's ETag is its MD5.
 */
export function appendedObject(
  bucket: string,
  key: string,
  current: StoredObject | undefined,
  received: ReceivedBody,
  meta: ObjectMeta,
  settings: ObjectSettings = {},
): StoredObject {
  const etag = current
    ? etagFromMd5(createHash('md5').update(Buffer.from(current.etag, 'hex')).update(received.md5).digest())
    : received.etag;
  const kept = current ? current.meta : meta;
  return {
    bucket,
    key,
    size: (current?.size ?? 0) + received.size,
    etag,
    crc64: current ? crc64Combine(current.crc64, received.crc64, received.size) : received.crc64,
    lastModified: new Date(),
    type: 'Appendable',
    meta: { ...kept, userMeta: { ...kept.userMeta } },
    // FIDELITY: an ACL header applies on every append; tags, like metadata, only on the first.
    acl: settings.acl ?? current?.acl ?? 'default',
    tags: current ? current.tags : (settings.tags ?? []),
    // Like metadata, the class is the creating append's (the store puts the bucket's in `settings`).
    // FIDELITY: the storage class is the creating append's (else the bucket's); later appends keep it.
    storageClass: current?.storageClass ?? settings.storageClass ?? 'Standard',
    ...(current?.restore === undefined ? {} : { restore: current.restore }),
  };
}
