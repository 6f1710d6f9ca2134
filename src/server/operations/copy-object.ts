/**
 * CopyObject (`PUT /key` with `x-oss-copy-source: /bucket/url-encoded-key`): copies an object's
 * data, keeping its metadata (`x-oss-metadata-directive: COPY`, the default) or taking it from
 * this request (`REPLACE`). The `x-oss-copy-source-if-*` headers apply to the source: If-Match /
 * If-Unmodified-Since fail with 412; If-None-Match / If-Modified-Since answer 304 (what ali-oss's
 * `copy` accepts as success statuses, SPEC.md §8).
 *
 * Tags follow `x-oss-tagging-directive`: `Copy` (the default) keeps the source's, `Replace` takes
 * `x-oss-tagging` (none when absent). `x-oss-object-acl` sets the target's ACL and
 * `x-oss-storage-class` its class: a copy onto itself with a new class is how OSS converts one.
 * An archived source must be restored first (InvalidObjectState, storage-class.ts).
 *
 * Invariant: the caller must be able to read the source as well as write the target; anonymous
 * callers need a source they could GetObject (its own ACL, else its bucket's, public-read(-write)).
 */
import { ossError } from '../../shared/oss-error.ts';
import type { CopySource, ObjectMeta, ObjectSettings } from '../../store/object-store.ts';
import { evaluateConditions } from '../conditional.ts';
import { forbidsOverwrite } from '../forbid-overwrite.ts';
import { requireObject } from '../request-arguments.ts';
import { objectMetaFromHeaders, quoteEtag } from '../object-meta.ts';
import { effectiveObjectAcl, objectAclHeader, taggingHeader } from '../object-settings.ts';
import { header, type Operation, type RequestContext, type ServerDeps } from '../pipeline/request-context.ts';
import { copyObjectResult } from '../responses/copy-object-result.ts';
import {
  encryptionHeaders,
  serverSideEncryptionHeader,
  withBucketEncryption,
} from '../server-side-encryption.ts';
import { requireReadable, storageClassHeader } from '../storage-class.ts';
import { parseCopySource } from './upload-part-copy.ts';

export const copyObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const source = parseCopySource(header(ctx, 'x-oss-copy-source') ?? '');
  const meta = metadataDirective(ctx, key);
  const settings = copySettings(ctx);
  const forbidOverwrite = forbidsOverwrite(ctx);
  await authorizeSourceRead(ctx, deps, source);

  const current = await deps.store.headObject(source.bucket, source.key);
  if (evaluateConditions(ctx.headers, current, 'x-oss-copy-source-') === 'not-modified') {
    return { status: 304, headers: { ETag: quoteEtag(current.etag) } };
  }
  requireReadable(current, deps.now());
  // FIDELITY: OSS limits CopyObject to 1 GiB sources (larger ones need UploadPartCopy); upcall
  // copies any size, streaming inside the store.
  // FIDELITY: the copy is encrypted as its request (else the target bucket's default) says,
  // whatever the source was; OSS does not say whether a source's SSE carries over.
  const object = await deps.store.copyObject(
    source,
    bucket,
    key,
    meta,
    await withBucketEncryption(deps.store, bucket, settings),
    { forbidOverwrite },
  );
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/xml',
      ETag: quoteEtag(object.etag),
      'x-oss-hash-crc64ecma': object.crc64,
      ...encryptionHeaders(object),
    },
    body: copyObjectResult(object),
  };
};

/** The metadata to store: undefined keeps the source's (COPY). @throws InvalidArgument */
function metadataDirective(ctx: RequestContext, key: string): ObjectMeta | undefined {
  const directive = (header(ctx, 'x-oss-metadata-directive') ?? 'COPY').trim().toUpperCase();
  if (directive === 'COPY') return undefined;
  if (directive === 'REPLACE') return objectMetaFromHeaders(ctx.headers, key);
  throw ossError('InvalidArgument', {
    message: 'The x-oss-metadata-directive must be COPY or REPLACE.',
    details: {
      ArgumentName: 'x-oss-metadata-directive',
      ArgumentValue: header(ctx, 'x-oss-metadata-directive') ?? '',
    },
  });
}

/**
 * The target's ACL and storage class and, with `x-oss-tagging-directive: Replace`, its tags
 * (OSS CopyObject).
 * @throws InvalidArgument | InvalidTag
 */
function copySettings(ctx: RequestContext): ObjectSettings {
  const settings: ObjectSettings = {};
  const acl = objectAclHeader(ctx.headers);
  if (acl !== undefined) settings.acl = acl;
  const storageClass = storageClassHeader(ctx.headers);
  if (storageClass !== undefined) settings.storageClass = storageClass;
  const encryption = serverSideEncryptionHeader(ctx.headers);
  if (encryption !== undefined) settings.serverSideEncryption = encryption;
  const raw = header(ctx, 'x-oss-tagging-directive');
  const directive = (raw ?? 'Copy').trim().toLowerCase();
  if (directive === 'replace') {
    settings.tags = taggingHeader(ctx.headers) ?? [];
  } else if (directive !== 'copy') {
    throw ossError('InvalidArgument', {
      message: 'The x-oss-tagging-directive must be Copy or Replace.',
      details: { ArgumentName: 'x-oss-tagging-directive', ArgumentValue: raw ?? '' },
    });
  }
  return settings;
}

async function authorizeSourceRead(ctx: RequestContext, deps: ServerDeps, source: CopySource): Promise<void> {
  if (ctx.principal.kind !== 'anonymous') return;
  const info = await deps.store.getBucket(source.bucket);
  if ((await effectiveObjectAcl(deps.store, source.bucket, source.key, info.acl)) === 'private') {
    throw ossError('AccessDenied', {
      message: 'You have no right to access this object because of bucket acl.',
    });
  }
}
