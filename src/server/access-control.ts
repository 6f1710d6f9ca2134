/**
 * Who may do what: the single call site of authenticate() (signature checks, in
 * src/server/authenticate.ts) and the bucket-ACL rule for anonymous callers.
 *
 * Invariant: every request passes through `authenticateRequest` and `authorizeRoute` exactly once, before its operation
 * runs; anonymous callers reach only public-read (reads) and public-read-write (reads and writes)
 * buckets, never the service or owner-only bucket operations.
 */
import { ossError } from '../shared/oss-error.ts';
import type { BucketAcl } from '../store/object-store.ts';
import type { TemporaryAction } from '../shared/security-token.ts';
import { callbackFingerprint } from '../callback/callback-fingerprint.ts';
import { parseCallback, type CallbackSpec } from '../callback/parse-callback.ts';
import { authenticate, authorizeAction, type AuthenticateRequest } from './authenticate.ts';
import type { Principal } from './principal.ts';
import { effectiveObjectAcl } from './object-settings.ts';
import { header } from './request-context.ts';
import type { Access, Route } from './routes.ts';
import type { ServerDeps } from './request-context.ts';

/** The request parts the signature checks read: the same shape authenticate() takes. */
export type AuthRequest = AuthenticateRequest;

export interface AuthConfig {
  /** The secret of an access key id, or undefined when it is unknown. */
  credentials: (accessKeyId: string) => string | undefined;
  now: () => Date;
  maxSkewMs: number;
}

/**
 * The one authenticate() call site (src/server/authenticate.ts): checks the V1/V4 header or
 * presigned-URL signature and names the principal.
 * @throws InvalidAccessKeyId | SignatureDoesNotMatch | RequestTimeTooSkewed | AccessDenied | …
 */
export async function authenticateRequest(request: AuthRequest, config: AuthConfig): Promise<Principal> {
  return authenticate(request, config);
}

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
 * Checks that `principal` may run `route` on `bucket`.
 * @throws AccessDenied | NoSuchBucket (anonymous request to a bucket that does not exist)
 */
export async function authorizeRoute(
  principal: Principal,
  route: Route,
  request: AuthRequest,
  deps: Pick<ServerDeps, 'store'>,
): Promise<void> {
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
      const callback = callbackOf(request);
      authorizeAction(principal, {
        action,
        bucket,
        key: request.key,
        // ListObjects(V2) and ListMultipartUploads name no key: the token's key prefix is checked
        // against the listing's own `prefix` parameter instead.
        listPrefix: request.query.get('prefix') ?? undefined,
        callbackUrls: callback === undefined ? [] : callback.urls.map((url) => url.href),
        callbackFingerprint: callback === undefined ? undefined : callbackFingerprint(callback),
      });
      return;
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
const OBJECT_READS: ReadonlySet<string> = new Set(['GetObject', 'HeadObject', 'GetObjectMeta']);

/**
 * The policy action each route needs. ListObjectsV2 is ListObjects and UploadPartCopy is
 * UploadPart, as in OSS RAM policies; routes not listed (bucket administration, ListBuckets) are
 * never open to temporary credentials.
 */
const TEMPORARY_ACTION_OF: Readonly<Record<string, TemporaryAction>> = {
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
};

/** The callback an upload asks for (header or presigned query), for a policy that requires one. */
function callbackOf(request: AuthRequest): CallbackSpec | undefined {
  return parseCallback({
    header: header(request, 'x-oss-callback'),
    query: request.query.get('callback') ?? undefined,
    varHeader: header(request, 'x-oss-callback-var'),
    varQuery: request.query.get('callback-var') ?? undefined,
  });
}

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
