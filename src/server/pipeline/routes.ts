/**
 * The routing table (STYLE.md §3.3): OSS routes by method, by whether the request names a bucket
 * and a key, and by sub-resource query keys (`?acl`, `?uploads`, `?append&position=N`), never by
 * REST paths. Each row names the OSS action verbatim.
 *
 * Matching: rows are tried most specific first (more required sub-resources and headers win). A
 * row matches when its method and target match, every sub-resource and header it requires is
 * present, and every *routing* sub-resource in the query is one the row requires or allows. So a
 * `GET /key?acl` never falls through to GetObject: with no row for it, it is NotImplemented.
 * To add an operation, add a row; order in the table does not matter.
 */
import { ossError } from '../../shared/oss-error.ts';
import { appendObject } from '../operations/append-object.ts';
import { copyObject } from '../operations/copy-object.ts';
import { deleteBucket } from '../operations/delete-bucket.ts';
import { deleteBucketCors } from '../operations/delete-bucket-cors.ts';
import { getBucketCors } from '../operations/get-bucket-cors.ts';
import { options } from '../operations/options.ts';
import { putBucketCors } from '../operations/put-bucket-cors.ts';
import { deleteBucketLifecycle } from '../operations/delete-bucket-lifecycle.ts';
import { deleteBucketEncryption } from '../operations/delete-bucket-encryption.ts';
import { getBucketEncryption } from '../operations/get-bucket-encryption.ts';
import { putBucketEncryption } from '../operations/put-bucket-encryption.ts';
import { getBucketLifecycle } from '../operations/get-bucket-lifecycle.ts';
import { putBucketLifecycle } from '../operations/put-bucket-lifecycle.ts';
import { deleteMultipleObjects } from '../operations/delete-multiple-objects.ts';
import { deleteObject } from '../operations/delete-object.ts';
import { deleteObjectTagging } from '../operations/delete-object-tagging.ts';
import { getBucketAcl } from '../operations/get-bucket-acl.ts';
import { getBucketInfo } from '../operations/get-bucket-info.ts';
import { getBucketLocation } from '../operations/get-bucket-location.ts';
import { getObject } from '../operations/get-object.ts';
import { getObjectAcl } from '../operations/get-object-acl.ts';
import { getObjectMeta } from '../operations/get-object-meta.ts';
import { getObjectTagging } from '../operations/get-object-tagging.ts';
import { headObject } from '../operations/head-object.ts';
import { listBuckets } from '../operations/list-buckets.ts';
import { listObjects } from '../operations/list-objects.ts';
import { listObjectsV2 } from '../operations/list-objects-v2.ts';
import { putBucket } from '../operations/put-bucket.ts';
import { putBucketAcl } from '../operations/put-bucket-acl.ts';
import { putObject } from '../operations/put-object.ts';
import { putObjectAcl } from '../operations/put-object-acl.ts';
import { putObjectTagging } from '../operations/put-object-tagging.ts';
import { restoreObject } from '../operations/restore-object.ts';
import { abortMultipartUpload } from '../operations/abort-multipart-upload.ts';
import { completeMultipartUpload } from '../operations/complete-multipart-upload.ts';
import { initiateMultipartUpload } from '../operations/initiate-multipart-upload.ts';
import { listMultipartUploads } from '../operations/list-multipart-uploads.ts';
import { listParts } from '../operations/list-parts.ts';
import { postObject } from '../operations/post-object.ts';
import { uploadPart } from '../operations/upload-part.ts';
import { uploadPartCopy } from '../operations/upload-part-copy.ts';
import type { Operation } from './request-context.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'OPTIONS';
export type Target = 'service' | 'bucket' | 'object';
/**
 * What an anonymous caller needs (SPEC: anonymous access only to public buckets): `read` is
 * granted by public-read and public-read-write, `write` only by public-read-write, `owner` never.
 * `form` (PostObject): the credentials travel in the form, so the operation authorizes itself
 * (post-object-auth.ts) and the bucket ACL is not checked before it runs. `anyone`: a CORS
 * preflight, which browsers never sign; it is answered from the bucket's CORS rules alone.
 */
export type Access = 'read' | 'write' | 'owner' | 'form' | 'anyone';

/** The OSS actions upcall routes, named verbatim as OSS (and its RAM policies) names them. */
export type OssAction =
  | 'ListBuckets'
  | 'PutBucket'
  | 'DeleteBucket'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'GetBucketInfo'
  | 'GetBucketLocation'
  | 'GetBucketAcl'
  | 'PutBucketAcl'
  | 'DeleteMultipleObjects'
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'GetObjectMeta'
  | 'DeleteObject'
  | 'AppendObject'
  | 'PutObjectAcl'
  | 'GetObjectAcl'
  | 'PutObjectTagging'
  | 'RestoreObject'
  | 'PutBucketCors'
  | 'GetBucketCors'
  | 'DeleteBucketCors'
  | 'PutBucketLifecycle'
  | 'GetBucketLifecycle'
  | 'DeleteBucketLifecycle'
  | 'PutBucketEncryption'
  | 'GetBucketEncryption'
  | 'DeleteBucketEncryption'
  | 'Options'
  | 'GetObjectTagging'
  | 'DeleteObjectTagging'
  | 'ListMultipartUploads'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'PostObject';

export interface Route {
  /** The OSS action name, e.g. `PutObject`; used for authorization and logs. */
  action: OssAction;
  method: HttpMethod;
  target: Target;
  /** Query keys that must be present, e.g. `['append', 'position']`. */
  subresources?: readonly string[];
  /** Routing sub-resources the row tolerates without requiring them. */
  optionalSubresources?: readonly string[];
  /** Request headers (lower-case) that must be present, e.g. `x-oss-copy-source`. */
  headers?: readonly string[];
  access: Access;
  operation: Operation;
}

/**
 * Query keys that select an operation in OSS (from the signed sub-resource list, SPEC.md §8.3),
 * as opposed to parameters such as `prefix`, `response-content-type` or `callback`.
 */
export const ROUTING_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'append',
  'asyncFetch',
  'bucketInfo',
  'cname',
  'comp',
  'cors',
  'delete',
  'encryption',
  'inventory',
  'lifecycle',
  'live',
  'location',
  'logging',
  'metaQuery',
  'objectInfo',
  'objectMeta',
  'partNumber',
  'policy',
  'position',
  'qos',
  'qosInfo',
  'referer',
  'replication',
  'requestPayment',
  'restore',
  'stat',
  'symlink',
  'tagging',
  'transferAcceleration',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'vod',
  'website',
  'worm',
  'x-oss-process',
]);

/** A preflight names the URL of the request it asks about, whatever its sub-resources. */
const PREFLIGHT_QUERY: readonly string[] = [...ROUTING_SUBRESOURCES];

export const ROUTES: readonly Route[] = [
  { action: 'ListBuckets', method: 'GET', target: 'service', access: 'owner', operation: listBuckets },

  { action: 'PutBucket', method: 'PUT', target: 'bucket', access: 'owner', operation: putBucket },
  { action: 'DeleteBucket', method: 'DELETE', target: 'bucket', access: 'owner', operation: deleteBucket },
  { action: 'ListObjects', method: 'GET', target: 'bucket', access: 'read', operation: listObjects },
  {
    action: 'ListObjectsV2',
    method: 'GET',
    target: 'bucket',
    subresources: ['list-type'],
    access: 'read',
    operation: listObjectsV2,
  },
  {
    action: 'GetBucketInfo',
    method: 'GET',
    target: 'bucket',
    subresources: ['bucketInfo'],
    access: 'owner',
    operation: getBucketInfo,
  },
  {
    action: 'GetBucketLocation',
    method: 'GET',
    target: 'bucket',
    subresources: ['location'],
    access: 'owner',
    operation: getBucketLocation,
  },
  {
    action: 'GetBucketAcl',
    method: 'GET',
    target: 'bucket',
    subresources: ['acl'],
    access: 'owner',
    operation: getBucketAcl,
  },
  {
    action: 'PutBucketAcl',
    method: 'PUT',
    target: 'bucket',
    subresources: ['acl'],
    access: 'owner',
    operation: putBucketAcl,
  },
  {
    action: 'DeleteMultipleObjects',
    method: 'POST',
    target: 'bucket',
    subresources: ['delete'],
    access: 'write',
    operation: deleteMultipleObjects,
  },

  { action: 'PutObject', method: 'PUT', target: 'object', access: 'write', operation: putObject },
  {
    action: 'CopyObject',
    method: 'PUT',
    target: 'object',
    headers: ['x-oss-copy-source'],
    access: 'write',
    operation: copyObject,
  },
  { action: 'GetObject', method: 'GET', target: 'object', access: 'read', operation: getObject },
  { action: 'HeadObject', method: 'HEAD', target: 'object', access: 'read', operation: headObject },
  {
    action: 'GetObjectMeta',
    method: 'HEAD',
    target: 'object',
    subresources: ['objectMeta'],
    access: 'read',
    operation: getObjectMeta,
  },
  {
    action: 'GetObjectMeta',
    method: 'GET',
    target: 'object',
    subresources: ['objectMeta'],
    access: 'read',
    operation: getObjectMeta,
  },
  { action: 'DeleteObject', method: 'DELETE', target: 'object', access: 'write', operation: deleteObject },
  {
    action: 'AppendObject',
    method: 'POST',
    target: 'object',
    subresources: ['append'],
    optionalSubresources: ['position'],
    access: 'write',
    operation: appendObject,
  },

  {
    action: 'RestoreObject',
    method: 'POST',
    target: 'object',
    subresources: ['restore'],
    access: 'write',
    operation: restoreObject,
  },

  // Object ACL and tagging: owner only, as in OSS (anonymous callers never read or change them).
  {
    action: 'PutObjectAcl',
    method: 'PUT',
    target: 'object',
    subresources: ['acl'],
    access: 'owner',
    operation: putObjectAcl,
  },
  {
    action: 'GetObjectAcl',
    method: 'GET',
    target: 'object',
    subresources: ['acl'],
    access: 'owner',
    operation: getObjectAcl,
  },
  {
    action: 'PutObjectTagging',
    method: 'PUT',
    target: 'object',
    subresources: ['tagging'],
    access: 'owner',
    operation: putObjectTagging,
  },
  {
    action: 'GetObjectTagging',
    method: 'GET',
    target: 'object',
    subresources: ['tagging'],
    access: 'owner',
    operation: getObjectTagging,
  },
  {
    action: 'DeleteObjectTagging',
    method: 'DELETE',
    target: 'object',
    subresources: ['tagging'],
    access: 'owner',
    operation: deleteObjectTagging,
  },

  // Multipart upload (OSS InitiateMultipartUpload … ListMultipartUploads).
  {
    action: 'ListMultipartUploads',
    method: 'GET',
    target: 'bucket',
    subresources: ['uploads'],
    access: 'read',
    operation: listMultipartUploads,
  },
  {
    action: 'InitiateMultipartUpload',
    method: 'POST',
    target: 'object',
    subresources: ['uploads'],
    access: 'write',
    operation: initiateMultipartUpload,
  },
  {
    action: 'UploadPart',
    method: 'PUT',
    target: 'object',
    subresources: ['partNumber', 'uploadId'],
    access: 'write',
    operation: uploadPart,
  },
  {
    action: 'UploadPartCopy',
    method: 'PUT',
    target: 'object',
    subresources: ['partNumber', 'uploadId'],
    headers: ['x-oss-copy-source'],
    access: 'write',
    operation: uploadPartCopy,
  },
  {
    action: 'CompleteMultipartUpload',
    method: 'POST',
    target: 'object',
    subresources: ['uploadId'],
    access: 'write',
    operation: completeMultipartUpload,
  },
  {
    action: 'AbortMultipartUpload',
    method: 'DELETE',
    target: 'object',
    subresources: ['uploadId'],
    access: 'write',
    operation: abortMultipartUpload,
  },
  {
    action: 'ListParts',
    method: 'GET',
    target: 'object',
    subresources: ['uploadId'],
    access: 'read',
    operation: listParts,
  },

  // Bucket CORS, and the preflight answered from it (a preflight carries the real request's query).
  {
    action: 'PutBucketCors',
    method: 'PUT',
    target: 'bucket',
    subresources: ['cors'],
    access: 'owner',
    operation: putBucketCors,
  },
  {
    action: 'GetBucketCors',
    method: 'GET',
    target: 'bucket',
    subresources: ['cors'],
    access: 'owner',
    operation: getBucketCors,
  },
  {
    action: 'DeleteBucketCors',
    method: 'DELETE',
    target: 'bucket',
    subresources: ['cors'],
    access: 'owner',
    operation: deleteBucketCors,
  },
  // Bucket default encryption (server-side-encryption.ts).
  {
    action: 'PutBucketEncryption',
    method: 'PUT',
    target: 'bucket',
    subresources: ['encryption'],
    access: 'owner',
    operation: putBucketEncryption,
  },
  {
    action: 'GetBucketEncryption',
    method: 'GET',
    target: 'bucket',
    subresources: ['encryption'],
    access: 'owner',
    operation: getBucketEncryption,
  },
  {
    action: 'DeleteBucketEncryption',
    method: 'DELETE',
    target: 'bucket',
    subresources: ['encryption'],
    access: 'owner',
    operation: deleteBucketEncryption,
  },
  // Bucket lifecycle: the rules are kept here; the server's lifecycle sweep carries them out.
  {
    action: 'PutBucketLifecycle',
    method: 'PUT',
    target: 'bucket',
    subresources: ['lifecycle'],
    access: 'owner',
    operation: putBucketLifecycle,
  },
  {
    action: 'GetBucketLifecycle',
    method: 'GET',
    target: 'bucket',
    subresources: ['lifecycle'],
    access: 'owner',
    operation: getBucketLifecycle,
  },
  {
    action: 'DeleteBucketLifecycle',
    method: 'DELETE',
    target: 'bucket',
    subresources: ['lifecycle'],
    access: 'owner',
    operation: deleteBucketLifecycle,
  },
  {
    action: 'Options',
    method: 'OPTIONS',
    target: 'bucket',
    optionalSubresources: PREFLIGHT_QUERY,
    access: 'anyone',
    operation: options,
  },
  {
    action: 'Options',
    method: 'OPTIONS',
    target: 'object',
    optionalSubresources: PREFLIGHT_QUERY,
    access: 'anyone',
    operation: options,
  },

  // PostObject (browser form upload): `POST /` with multipart/form-data, no sub-resource.
  { action: 'PostObject', method: 'POST', target: 'bucket', access: 'form', operation: postObject },
];

const BY_SPECIFICITY = [...ROUTES].sort((a, b) => specificity(b) - specificity(a));

function specificity(route: Route): number {
  return (route.subresources?.length ?? 0) + (route.headers?.length ?? 0);
}

export interface RouteRequest {
  method: string;
  target: Target;
  query: URLSearchParams;
  /** Lower-case header names present on the request. */
  hasHeader: (name: string) => boolean;
}

/** @throws NotImplemented (an OSS sub-resource upcall does not serve) | MethodNotAllowed */
export function matchRoute(request: RouteRequest, routes: readonly Route[] = BY_SPECIFICITY): Route {
  const routing: string[] = [];
  for (const name of request.query.keys()) if (ROUTING_SUBRESOURCES.has(name)) routing.push(name);
  for (const route of routes) {
    if (route.method !== request.method || route.target !== request.target) continue;
    if (route.subresources?.some((name) => !request.query.has(name))) continue;
    if (route.headers?.some((name) => !request.hasHeader(name))) continue;
    const allowed = (name: string): boolean =>
      route.subresources?.includes(name) === true || route.optionalSubresources?.includes(name) === true;
    if (!routing.every(allowed)) continue;
    return route;
  }
  if (routing.length > 0) throw ossError('NotImplemented');
  throw ossError('MethodNotAllowed', {
    details: { Method: request.method, ResourceType: resourceType(request.target) },
  });
}

function resourceType(target: Target): string {
  switch (target) {
    case 'service':
      return 'Service';
    case 'bucket':
      return 'Bucket';
    case 'object':
      return 'Object';
  }
}
