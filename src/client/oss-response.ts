/**
 * What the client reads out of an OSS reply: the upload result (with the callback's outcome),
 * and the XML documents of InitiateMultipartUpload, ListObjects, ListBuckets and
 * ListMultipartUploads.
 *
 * Invariants: a 203 on an upload is a stored object whose callback failed, never a failed upload
 * (SPEC.md §6.2: the object is stored); a reply whose document is not the one expected becomes an
 * OssServiceError `UnknownError` carrying the status and request id, never a TypeError.
 */
import type { Dispatcher } from 'undici';
import { childElements, childText, parseXml, type XmlObject } from '../shared/xml.ts';
import { OssServiceError, parseOssServiceError } from './oss-service-error.ts';

/** A reply as the client's one request function hands it over: headers flattened, lower-case. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
}

/** How the app server answered an upload's callback. */
export type CallbackOutcome =
  /** 200: the app server's reply, verbatim (SPEC.md §6.1), and its JSON when it parses. */
  | { ok: true; body: string; json: unknown }
  /** 203: the object is stored but the callback failed (SPEC.md §6.2). */
  | { ok: false; error: OssServiceError };

export interface UploadResult {
  status: number;
  etag: string | undefined;
  requestId: string | undefined;
  /** Present when the upload asked for a callback. */
  callback?: CallbackOutcome;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
}

export interface ListObjectsResult {
  objects: ObjectSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextMarker: string | undefined;
}

/** One ongoing multipart upload, as ListMultipartUploads names it. */
export interface UploadSummary {
  key: string;
  uploadId: string;
  initiated: string;
}

export interface ListMultipartUploadsResult {
  uploads: UploadSummary[];
  isTruncated: boolean;
  nextKeyMarker: string | undefined;
  nextUploadIdMarker: string | undefined;
}

export interface BucketSummary {
  name: string;
  creationDate: string;
}

export async function uploadResult(reply: Reply, withCallback: boolean): Promise<UploadResult> {
  const text = await reply.body.text();
  const result: UploadResult = {
    status: reply.status,
    etag: reply.headers['etag'],
    requestId: reply.headers['x-oss-request-id'],
  };
  if (!withCallback) return result;
  if (reply.status === 203) {
    result.callback = { ok: false, error: parseOssServiceError(reply.status, text, reply.headers) };
  } else {
    result.callback = { ok: true, body: text, json: parseJsonOrUndefined(text) };
  }
  return result;
}

export async function readUploadId(reply: Reply): Promise<string> {
  const result = await readXmlRoot(reply, 'InitiateMultipartUploadResult');
  const uploadId = childText(result, 'UploadId');
  if (uploadId === undefined || uploadId === '') {
    throw new OssServiceError({
      code: 'UnknownError',
      status: reply.status,
      message: 'No UploadId in reply',
    });
  }
  return uploadId;
}

/** ListObjects (V1), one page: `<ListBucketResult>`. */
export async function readListObjectsResult(reply: Reply): Promise<ListObjectsResult> {
  const root = await readXmlRoot(reply, 'ListBucketResult');
  const objects: ObjectSummary[] = [];
  for (const item of childElements(root, 'Contents')) {
    if (typeof item === 'string') continue;
    objects.push({
      key: childText(item, 'Key') ?? '',
      size: Number(childText(item, 'Size') ?? '0'),
      etag: childText(item, 'ETag') ?? '',
      lastModified: childText(item, 'LastModified') ?? '',
    });
  }
  const commonPrefixes: string[] = [];
  for (const item of childElements(root, 'CommonPrefixes')) {
    if (typeof item === 'string') continue;
    const prefix = childText(item, 'Prefix');
    if (prefix !== undefined) commonPrefixes.push(prefix);
  }
  const isTruncated = childText(root, 'IsTruncated') === 'true';
  const nextMarker = childText(root, 'NextMarker');
  return {
    objects,
    commonPrefixes,
    isTruncated,
    nextMarker: nextMarker === '' ? undefined : nextMarker,
  };
}

/** ListMultipartUploads, one page: `<ListMultipartUploadsResult>`. */
export async function readListMultipartUploadsResult(reply: Reply): Promise<ListMultipartUploadsResult> {
  const root = await readXmlRoot(reply, 'ListMultipartUploadsResult');
  const uploads: UploadSummary[] = [];
  for (const item of childElements(root, 'Upload')) {
    if (typeof item === 'string') continue;
    uploads.push({
      key: childText(item, 'Key') ?? '',
      uploadId: childText(item, 'UploadId') ?? '',
      initiated: childText(item, 'Initiated') ?? '',
    });
  }
  const nextKeyMarker = childText(root, 'NextKeyMarker');
  const nextUploadIdMarker = childText(root, 'NextUploadIdMarker');
  return {
    uploads,
    isTruncated: childText(root, 'IsTruncated') === 'true',
    nextKeyMarker: nextKeyMarker === '' ? undefined : nextKeyMarker,
    nextUploadIdMarker: nextUploadIdMarker === '' ? undefined : nextUploadIdMarker,
  };
}

/** ListBuckets: `<ListAllMyBucketsResult><Buckets><Bucket>…`. */
export async function readBucketList(reply: Reply): Promise<BucketSummary[]> {
  const root = await readXmlRoot(reply, 'ListAllMyBucketsResult');
  const buckets: BucketSummary[] = [];
  for (const group of childElements(root, 'Buckets')) {
    if (typeof group === 'string') continue;
    for (const item of childElements(group, 'Bucket')) {
      if (typeof item === 'string') continue;
      buckets.push({
        name: childText(item, 'Name') ?? '',
        creationDate: childText(item, 'CreationDate') ?? '',
      });
    }
  }
  return buckets;
}

export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function readXmlRoot(reply: Reply, rootName: string): Promise<XmlObject> {
  const text = await reply.body.text();
  const root = parseXml(text)[rootName];
  if (root === undefined || typeof root === 'string' || Array.isArray(root)) {
    // An empty element (`<ListBucketResult/>` cannot happen, but be lenient) reads as no children.
    if (root === '') return {};
    throw new OssServiceError({
      code: 'UnknownError',
      status: reply.status,
      message: `Expected a <${rootName}> document`,
      requestId: reply.headers['x-oss-request-id'],
    });
  }
  return root;
}
