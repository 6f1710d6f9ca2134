/**
 * Object metadata on the wire, both ways: request headers → ObjectMeta for PutObject, AppendObject,
 * CopyObject (REPLACE), InitiateMultipartUpload and PostObject; StoredObject → the response
 * headers GetObject and HeadObject replay.
 *
 * Invariants: Content-Type comes from the request, else from the key's extension, else
 * `application/octet-stream` (what OSS does); user metadata keys are the lower-case suffix after
 * `x-oss-meta-`; ETags leave here quoted.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { lookup } from 'mime-types';
import { ossError } from '../shared/oss-error.ts';
import type { ObjectMeta, StoredObject } from '../store/object-store.ts';
import type { HeaderValue } from './pipeline/request-context.ts';
import { SSE_HEADER } from './server-side-encryption.ts';
import { restoreInfo } from './storage-class.ts';

const USER_META_PREFIX = 'x-oss-meta-';
/** OSS: "the total size of all user metadata of an object cannot exceed 8 KB". */
const MAX_USER_META_BYTES = 8 * 1024;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function contentTypeForKey(key: string): string {
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  const type = name.includes('.') ? lookup(name) : false;
  return type === false ? 'application/octet-stream' : type;
}

/**
 * Builds the stored metadata from request headers (PostObject passes its form fields, lower-cased,
 * in the same shape). @throws InvalidArgument (user metadata over 8 KB)
 */
export function objectMetaFromHeaders(headers: IncomingHttpHeaders, key: string): ObjectMeta {
  const contentType = first(headers['content-type']);
  const meta: ObjectMeta = {
    contentType: contentType !== undefined && contentType !== '' ? contentType : contentTypeForKey(key),
    userMeta: {},
  };
  const disposition = first(headers['content-disposition']);
  if (disposition !== undefined) meta.contentDisposition = disposition;
  const encoding = first(headers['content-encoding']);
  if (encoding !== undefined) meta.contentEncoding = encoding;
  const cacheControl = first(headers['cache-control']);
  if (cacheControl !== undefined) meta.cacheControl = cacheControl;
  const expires = first(headers['expires']);
  if (expires !== undefined) meta.expires = expires;
  let userMetaBytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(USER_META_PREFIX) || value === undefined) continue;
    const suffix = name.slice(USER_META_PREFIX.length);
    const text = Array.isArray(value) ? value.join(',') : value;
    userMetaBytes += suffix.length + Buffer.byteLength(text);
    meta.userMeta[suffix] = text;
  }
  if (userMetaBytes > MAX_USER_META_BYTES) {
    throw ossError('InvalidArgument', {
      message: 'Your metadata headers exceed the maximum allowed metadata size.',
      details: { ArgumentName: 'x-oss-meta-*', ArgumentValue: String(userMetaBytes) },
    });
  }
  return meta;
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/**
 * The headers OSS sends for an object on GET and HEAD (without Content-Length / Content-Range);
 * `now` decides what `x-oss-restore` says of a restore.
 */
export function objectHeaders(object: StoredObject, now: Date): Record<string, HeaderValue> {
  const { meta } = object;
  const headers: Record<string, HeaderValue> = {
    'Content-Type': meta.contentType,
    ETag: quoteEtag(object.etag),
    'Last-Modified': object.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
    'x-oss-object-type': object.type,
    'x-oss-storage-class': object.storageClass,
    'x-oss-hash-crc64ecma': object.crc64,
  };
  if (object.contentMd5 !== undefined) headers['Content-MD5'] = object.contentMd5;
  // OSS: HEAD and GET of an Appendable object say where the next append goes (ali-oss's
  // append-by-position flow reads it from a HEAD).
  if (object.type === 'Appendable') headers['x-oss-next-append-position'] = object.size;
  if (object.tags.length > 0) headers['x-oss-tagging-count'] = object.tags.length;
  if (object.serverSideEncryption !== undefined) headers[SSE_HEADER] = object.serverSideEncryption;
  const restore = restoreInfo(object, now);
  if (restore !== undefined) headers['x-oss-restore'] = restore;
  if (meta.contentDisposition !== undefined) headers['Content-Disposition'] = meta.contentDisposition;
  if (meta.contentEncoding !== undefined) headers['Content-Encoding'] = meta.contentEncoding;
  if (meta.cacheControl !== undefined) headers['Cache-Control'] = meta.cacheControl;
  if (meta.expires !== undefined) headers['Expires'] = meta.expires;
  for (const [name, value] of Object.entries(meta.userMeta)) headers[USER_META_PREFIX + name] = value;
  return headers;
}

/** The success headers of every single-request upload (PutObject, AppendObject, PostObject). */
export function uploadResultHeaders(object: StoredObject): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {
    ETag: quoteEtag(object.etag),
    'x-oss-hash-crc64ecma': object.crc64,
  };
  if (object.contentMd5 !== undefined) headers['Content-MD5'] = object.contentMd5;
  if (object.serverSideEncryption !== undefined) headers[SSE_HEADER] = object.serverSideEncryption;
  return headers;
}

/** LastModified in listings and result documents: ISO 8601 with second precision, `.000Z`. */
export function isoSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}
