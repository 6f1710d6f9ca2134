/**
 * Storage classes on the wire: the `x-oss-storage-class` request header (and PutBucket's
 * `<StorageClass>`), and what an archived object's class means for reading it.
 *
 * OSS rules kept here: Archive, ColdArchive and DeepColdArchive objects cannot be read (GetObject,
 * or used as a copy source) until a RestoreObject has completed, and only while it is in force;
 * `x-oss-restore` (HEAD/GET) and `<RestoreInfo>` (ListObjects) report `ongoing-request="true"`
 * while a restore runs and `ongoing-request="false", expiry-date="…"` once it is done; after it
 * expires the object reads as never restored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ossError } from '../shared/oss-error.ts';
import { STORAGE_CLASSES, type StorageClass, type StoredObject } from '../store/object-store.ts';

const ARCHIVE_CLASSES: ReadonlySet<StorageClass> = new Set(['Archive', 'ColdArchive', 'DeepColdArchive']);

export function isArchiveClass(storageClass: StorageClass): boolean {
  return ARCHIVE_CLASSES.has(storageClass);
}

/** A storage class by its OSS name (case as OSS spells it). @throws InvalidArgument */
export function parseStorageClass(value: string, argumentName: string): StorageClass {
  const trimmed = value.trim();
  const found = STORAGE_CLASSES.find((name) => name === trimmed);
  if (found === undefined) {
    // FIDELITY: OSS documents the valid values but not the error for others; InvalidArgument
    // naming the argument, as for the other enumerated headers (x-oss-object-acl).
    throw ossError('InvalidArgument', {
      message: 'The storage class you specified is not valid.',
      details: { ArgumentName: argumentName, ArgumentValue: value },
    });
  }
  return found;
}

/** `x-oss-storage-class`, or undefined when absent (or empty). @throws InvalidArgument */
export function storageClassHeader(headers: IncomingHttpHeaders): StorageClass | undefined {
  const raw = headers['x-oss-storage-class'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return undefined;
  return parseStorageClass(value, 'x-oss-storage-class');
}

export type RestoreState = 'none' | 'ongoing' | 'restored';

export function restoreState(object: Pick<StoredObject, 'restore'>, now: Date): RestoreState {
  const { restore } = object;
  if (restore === undefined || now >= restore.expiresAt) return 'none';
  return now < restore.readyAt ? 'ongoing' : 'restored';
}

/** The `x-oss-restore` header value (ListObjects' `<RestoreInfo>` text), or undefined. */
export function restoreInfo(object: Pick<StoredObject, 'restore'>, now: Date): string | undefined {
  switch (restoreState(object, now)) {
    case 'none':
      return undefined;
    case 'ongoing':
      return 'ongoing-request="true"';
    case 'restored':
      return `ongoing-request="false", expiry-date="${object.restore!.expiresAt.toUTCString()}"`;
  }
}

/** Whether the object's data may be read now (GetObject, a copy source). */
export function isReadable(object: Pick<StoredObject, 'storageClass' | 'restore'>, now: Date): boolean {
  return !isArchiveClass(object.storageClass) || restoreState(object, now) === 'restored';
}

/** @throws InvalidObjectState (an archived object that is not restored now) */
export function requireReadable(object: StoredObject, now: Date): void {
  if (!isReadable(object, now)) throw ossError('InvalidObjectState', { details: { Key: object.key } });
}
