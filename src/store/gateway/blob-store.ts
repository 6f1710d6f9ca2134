/**
 * The gateway backend's data layer (issue 16): immutable blobs, each an object under a fresh unique
 * key in one bucket of an S3-compatible engine (OpenStack Swift s3api, Ceph RGW, MinIO, AWS S3).
 * Object metadata, and every atomicity guarantee, live in PostgreSQL (pg-object-store); a blob is
 * written once, read any number of times and deleted by the garbage-collection sweep, never
 * overwritten. So the engine needs no conditional PUT (Swift has none) and no multipart (OSS parts
 * may be 100 KiB, S3 engines refuse parts under 5 MiB).
 *
 * Errors: an engine that cannot be reached, times out or answers 5xx (after the retries of
 * idempotent calls) rejects with OssError ServiceUnavailable (503); other engine errors reject
 * with OssError InternalError carrying the engine's code in its message. Keys and secrets never
 * appear in an error.
 */
import type { Readable } from 'node:stream';
import type { ByteRange } from '../object-store.ts';

/** Where the blobs live and how to sign for them (`upcall server --s3-*`, env `UPCALL_S3_*`). */
export interface S3Config {
  /** `http(s)://host:port`, no path. */
  endpoint: string;
  bucket: string;
  /** SigV4 region; must equal the engine's (Swift s3api: its `location`, us-east-1 by default). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** True (the default): `<endpoint>/<bucket>/<key>`; false: `<bucket>.<host>/<key>`. */
  pathStyle: boolean;
}

export interface BlobWriteResult {
  /** The engine's ETag: lower-case hex MD5 of the bytes (quotes removed). */
  etag: string;
}

export interface BlobListEntry {
  key: string;
  lastModified: Date;
  size: number;
}

export interface BlobStore {
  /**
   * Streams exactly `size` bytes of `body` to a new blob under `key`, without buffering it. Resolves
   * once the engine has stored it; the caller compares `etag` with the MD5 it computed while
   * streaming. Rejects when the body errors or ends short/long (nothing is left under `key`, or
   * what is left is an orphan for the sweep), or when `signal` aborts.
   */
  put(key: string, body: Readable, size: number, signal?: AbortSignal): Promise<BlobWriteResult>;
  /** The blob's bytes, or the inclusive `range` of them, as a stream (consume or destroy it). */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Server-side copy to a new key (CopyObject, UploadPartCopy). */
  copy(sourceKey: string, targetKey: string): Promise<BlobWriteResult>;
  /** Deletes blobs; missing ones are not an error (idempotent). */
  delete(keys: readonly string[]): Promise<void>;
  /** Blobs whose key starts with `prefix`, in key order (the orphan sweep, tests). */
  list(prefix: string): AsyncIterable<BlobListEntry>;
  /** Readiness: the bucket answers. @throws OssError ServiceUnavailable */
  check(): Promise<void>;
  /** Ends the connection pool. */
  close(): Promise<void>;
}
