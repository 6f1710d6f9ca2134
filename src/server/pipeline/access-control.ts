/**
 * Who may do what, once authenticate() (authenticate.ts, called by dispatch.ts) has named the
 * principal: the temporary-credential policy and the bucket-ACL rule for anonymous callers.
 *
 * Invariant: every request passes through `authorizeRoute` exactly once, after authenticate() and
 * before its operation runs; anonymous callers reach only public-read (reads) and public-read-write
 * (reads and writes) buckets, never the service or owner-only bucket operations.
 */
import { ossError } from '../../shared/oss-error.ts';
import type { BucketAcl } from '../../store/object-store.ts';
import type { TemporaryAction } from '../../shared/security-token.ts';
import { callbackFingerprint } from '../../callback/callback-fingerprint.ts';
import { authorizeAction, type AuthenticateRequest } from './authenticate.ts';
import type { Principal } from './principal.ts';
import { effectiveObjectAcl } from '../object-settings.ts';
import { callbackParser, callbackRequestParams } from '../callback/upload-callback.ts';
import type { Access, OssAction, Route } from './routes.ts';
import type { ParsedCallback, ServerDeps } from './request-context.ts';

function aclGrants(acl: BucketAcl, access: Access): boolean {
  switch (access) {
    case 'read':
      return acl === 'public-read' || acl === 'public-read-write';
    case 'write':
      return acl === 'public-read-write';
    case 'owner':
    case 'form':
    case 'anyone':
      return false;
  }
}

/**
 * Checks that `principal` may run `route` on `bucket`. Returns the callback parameter when it was
 * parsed here (temporary credentials may bind it), for the upload-callback step to reuse.
 * @throws AccessDenied | NoSuchBucket (anonymous request to a bucket that does not exist)
 */
export async function authorizeRoute(
  principal: Principal,
  route: Route,
  request: AuthenticateRequest,
  deps: Pick<ServerDeps, 'store' | 'callbackRuntime'>,
): Promise<ParsedCallback | undefined> {
  const { bucket } = request;
  switch (principal.kind) {
    case 'root':
      return;
    case 'temporary': {
      // Temporary credentials are scoped by their policy: bucket, key prefix, actions, and
      // possibly a required upload callback URL (DESIGN.md "Temporary credentials").
      if (route.access === 'form' || route.access === 'anyone') return;
      const action = TEMPORARY_ACTION_OF[route.action];
      if (action === undefined) {
        throw ossError('AccessDenied', {
          message: `Access denied by the security token policy: the action ${route.action} is not allowed.`,
        });
      }
      // The callback an upload asks for, for a policy that requires or binds one.
      const callback = callbackParser(deps).parseCallback(callbackRequestParams(request));
      authorizeAction(principal, {
        action,
        bucket,
        key: request.key,
        // ListObjects(V2) and ListMultipartUploads name no key: the token's key prefix is checked
        // against the listing's own `prefix` parameter instead.
        listPrefix: request.query.get('prefix') ?? undefined,
        callbackUrls: callback === undefined ? [] : callback.urls.map((url) => url.href),
        // FIDELITY: the token may bind the whole callback (security-token.ts), which OSS STS cannot.
        callbackFingerprint: callback === undefined ? undefined : callbackFingerprint(callback),
      });
      return { spec: callback };
    }
    case 'anonymous': {
      // PostObject authorizes from its form fields (post-object-auth.ts); a preflight needs none.
      if (route.access === 'form' || route.access === 'anyone') return;
      if (bucket === undefined || route.access === 'owner') {
        throw ossError('AccessDenied', { message: 'Anonymous access is forbidden for this operation.' });
      }
      const info = await deps.store.getBucket(bucket);
      // An object's own ACL outranks its bucket's for reading it (OSS PutObjectACL).
      // FIDELITY: writes (overwrite, delete) are decided by the bucket ACL alone.
      const acl =
        OBJECT_READS.has(route.action) && request.key !== undefined
          ? await effectiveObjectAcl(deps.store, bucket, request.key, info.acl)
          : info.acl;
      if (!aclGrants(acl, route.access)) throw anonymousDenied(route.target);
      return;
    }
  }
}

/** The routes that read an object, for which the object's own ACL counts. */
const OBJECT_READS: ReadonlySet<OssAction> = new Set<OssAction>(['GetObject', 'HeadObject', 'GetObjectMeta']);

/**
 * The policy action each route needs. ListObjectsV2 is ListObjects and UploadPartCopy is
 * UploadPart, as in OSS RAM policies; routes not listed (bucket administration, ListBuckets) are
 * never open to temporary credentials.
 */
const TEMPORARY_ACTION_OF: Readonly<Partial<Record<OssAction, TemporaryAction>>> = {
  GetObject: 'GetObject',
  HeadObject: 'HeadObject',
  GetObjectMeta: 'GetObjectMeta',
  PutObject: 'PutObject',
  AppendObject: 'AppendObject',
  CopyObject: 'CopyObject',
  DeleteObject: 'DeleteObject',
  DeleteMultipleObjects: 'DeleteMultipleObjects',
  ListObjects: 'ListObjects',
  ListObjectsV2: 'ListObjects',
  InitiateMultipartUpload: 'InitiateMultipartUpload',
  UploadPart: 'UploadPart',
  UploadPartCopy: 'UploadPart',
  CompleteMultipartUpload: 'CompleteMultipartUpload',
  AbortMultipartUpload: 'AbortMultipartUpload',
  ListParts: 'ListParts',
  ListMultipartUploads: 'ListMultipartUploads',
  GetObjectAcl: 'GetObjectAcl',
  PutObjectAcl: 'PutObjectAcl',
  GetObjectTagging: 'GetObjectTagging',
  PutObjectTagging: 'PutObjectTagging',
  DeleteObjectTagging: 'DeleteObjectTagging',
  RestoreObject: 'RestoreObject',
};

function anonymousDenied(target: Route['target']) {
  // FIDELITY: OSS words this per operation; upcall uses the object-read wording for objects and
  // the generic bucket wording otherwise.
  return ossError('AccessDenied', {
    message:
      target === 'object'
        ? 'You have no right to access this object because of bucket acl.'
        : 'You have no right to access this bucket because of bucket acl.',
  });
}
