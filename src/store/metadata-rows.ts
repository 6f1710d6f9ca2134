/**
 * The row ⇄ value mappings the two SQL backends share (fs over SQLite, the gateway over
 * PostgreSQL): both keep buckets, objects, uploads and parts in the same columns (keys as bytes of
 * their UTF-8, times as ms), differing only in how JSON values arrive (SQLite: text, which the fs
 * store parses; pg: already parsed). Each backend decodes those itself and passes them in here.
 */
import type {
  BucketAcl,
  BucketInfo,
  ObjectAcl,
  ObjectMeta,
  ObjectTag,
  ObjectType,
  PartRecord,
  ServerSideEncryption,
  StorageClass,
  StoredObject,
  UploadInfo,
} from './object-store.ts';

export interface BucketColumns {
  name: string;
  created_ms: number;
  acl: BucketAcl;
  storage_class: StorageClass;
}

/** An object row's columns apart from its JSON ones (meta, tags, segments, encryption). */
export interface ObjectColumns {
  bucket: string;
  key: Buffer;
  size: number;
  etag: string;
  content_md5: string | null;
  crc64: string;
  last_modified_ms: number;
  type: ObjectType;
  acl: ObjectAcl;
  storage_class: StorageClass;
  /** RestoreObject: readable from, until (both null when never restored). */
  restore_ready_ms: number | null;
  restore_expires_ms: number | null;
}

/** What a backend decodes of an object row's JSON columns for objectFromColumns. */
export interface DecodedObjectColumns {
  meta: ObjectMeta;
  tags: ObjectTag[];
  /** The algorithm of the row's wrapped data key; undefined when the data is stored as sent. */
  serverSideEncryption: ServerSideEncryption | undefined;
}

export interface UploadColumns {
  upload_id: string;
  bucket: string;
  key: Buffer;
  initiated_ms: number;
  storage_class: StorageClass;
}

export interface PartColumns {
  part_number: number;
  etag: string;
  size: number;
  crc64: string;
  last_modified_ms: number;
}

export function toBucketInfo(row: BucketColumns): BucketInfo {
  return {
    name: row.name,
    creationDate: new Date(row.created_ms),
    acl: row.acl,
    storageClass: row.storage_class,
  };
}

/** A backend's `toStoredObject`: its row's columns, with the JSON ones it decoded. */
export function objectFromColumns(row: ObjectColumns, decoded: DecodedObjectColumns): StoredObject {
  const object: StoredObject = {
    bucket: row.bucket,
    key: row.key.toString('utf8'),
    size: row.size,
    etag: row.etag,
    crc64: row.crc64,
    lastModified: new Date(row.last_modified_ms),
    type: row.type,
    meta: decoded.meta,
    acl: row.acl,
    tags: decoded.tags,
    storageClass: row.storage_class,
  };
  if (row.content_md5 !== null) object.contentMd5 = row.content_md5;
  if (row.restore_ready_ms !== null && row.restore_expires_ms !== null)
    object.restore = { readyAt: new Date(row.restore_ready_ms), expiresAt: new Date(row.restore_expires_ms) };
  if (decoded.serverSideEncryption !== undefined) object.serverSideEncryption = decoded.serverSideEncryption;
  return object;
}

/** The columns of `object` apart from its JSON ones, which the backend encodes (objectFromColumns' inverse). */
export function objectColumns(object: StoredObject): ObjectColumns {
  return {
    bucket: object.bucket,
    key: Buffer.from(object.key, 'utf8'),
    size: object.size,
    etag: object.etag,
    content_md5: object.contentMd5 ?? null,
    crc64: object.crc64,
    last_modified_ms: object.lastModified.getTime(),
    type: object.type,
    acl: object.acl,
    storage_class: object.storageClass,
    restore_ready_ms: object.restore?.readyAt.getTime() ?? null,
    restore_expires_ms: object.restore?.expiresAt.getTime() ?? null,
  };
}

export function toUploadInfo(row: UploadColumns): UploadInfo {
  return {
    bucket: row.bucket,
    key: row.key.toString('utf8'),
    uploadId: row.upload_id,
    initiated: new Date(row.initiated_ms),
    storageClass: row.storage_class,
  };
}

export function toPartRecord(row: PartColumns): PartRecord {
  return {
    partNumber: row.part_number,
    etag: row.etag,
    size: row.size,
    crc64: row.crc64,
    lastModified: new Date(row.last_modified_ms),
  };
}
