/**
 * UploadPartCopy (`PUT /key?partNumber=N&uploadId=…` with `x-oss-copy-source: /bucket/key`): uploads
 * a part by copying the source object, or the byte range `x-oss-copy-source-range: bytes=a-b`,
 * streamed from the store into the part (never buffered). The `x-oss-copy-source-if-*` conditions
 * apply to the source; a failing one is 412 PreconditionFailed (OSS copies never answer 304). An
 * archived source must be restored first (InvalidObjectState).
 *
 * Invariant: the caller must be able to read the source as well as write the upload; anonymous
 * callers need a public-read(-write) source bucket, temporary credentials GetObject on the source.
 */
import { ossError } from '../../shared/oss-error.ts';
import { validateObjectKey } from '../../shared/object-key.ts';
import { checkTemporaryPolicy, isTemporaryPolicy } from '../../shared/security-token.ts';
import type { ByteRange, CopySource } from '../../store/object-store.ts';
import { evaluateConditions } from '../conditional.ts';
import { MAX_PART_SIZE, parsePartNumber, uploadRefOf } from '../request-arguments.ts';
import { quoteEtag } from '../object-meta.ts';
import { header, type Operation, type RequestContext, type ServerDeps } from '../pipeline/request-context.ts';
import { copyPartResult } from '../responses/copy-part-result.ts';
import { effectiveObjectAcl } from '../object-settings.ts';
import { requireReadable } from '../storage-class.ts';

export const uploadPartCopy: Operation = async (ctx, deps) => {
  const upload = uploadRefOf(ctx);
  const partNumber = parsePartNumber(ctx.query.get('partNumber'));
  const source = parseCopySource(header(ctx, 'x-oss-copy-source') ?? '');
  await authorizeSourceRead(ctx, deps, source);

  const object = await deps.store.headObject(source.bucket, source.key);
  if (evaluateConditions(ctx.headers, object, 'x-oss-copy-source-') === 'not-modified') {
    throw ossError('PreconditionFailed', { details: { Condition: 'If-None-Match' } });
  }
  requireReadable(object, deps.now());
  const range = parseCopySourceRange(header(ctx, 'x-oss-copy-source-range'), object.size);
  if ((range === undefined ? object.size : range.end - range.start + 1) > MAX_PART_SIZE) {
    throw ossError('EntityTooLarge');
  }
  // FIDELITY: OSS refuses to copy Appendable objects; upcall copies them like any other object.
  const { body } = await deps.store.getObject(source.bucket, source.key, range);
  let part;
  try {
    part = await deps.store.multipart.uploadPart(upload, partNumber, body, { maxSize: MAX_PART_SIZE });
  } finally {
    // The store may refuse (NoSuchUpload) before reading the source: release it.
    if (!body.readableEnded) body.destroy();
  }
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml', ETag: quoteEtag(part.etag) },
    body: copyPartResult(part),
  };
};

/**
 * `/bucket/url-encoded-key`, optionally followed by `?versionId=…` (upcall keeps no versions, so a
 * version id is ignored). @throws InvalidArgument (empty, no leading `/`, no key, bad encoding)
 */
export function parseCopySource(value: string): CopySource {
  const invalid = (reason: string) =>
    ossError('InvalidArgument', {
      message: `Copy Source must mention the source bucket and key: /sourcebucket/sourcekey. ${reason}`,
      details: { ArgumentName: 'x-oss-copy-source', ArgumentValue: value },
    });
  const path = value.split('?', 1)[0] ?? '';
  if (!path.startsWith('/')) throw invalid('It must start with a slash.');
  const slash = path.indexOf('/', 1);
  if (slash === -1 || slash === path.length - 1) throw invalid('The key is missing.');
  let key: string;
  try {
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw invalid('The key is not valid URL encoding.');
  }
  validateObjectKey(key);
  return { bucket: path.slice(1, slash), key };
}

/**
 * `bytes=first-last` within the source. Absent means the whole object.
 * @throws InvalidArgument (not `bytes=a-b` with a <= b, or past the end of the source)
 */
export function parseCopySourceRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const match = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(value.trim());
  const start = Number(match?.[1] ?? NaN);
  const end = Number(match?.[2] ?? NaN);
  // FIDELITY: OSS reports a copy range past the source's end with its own EC code; upcall answers
  // InvalidArgument for that and for any malformed range.
  if (!(start <= end && end < size)) {
    throw ossError('InvalidArgument', {
      message: 'The x-oss-copy-source-range must be bytes=first-last within the source object.',
      details: { ArgumentName: 'x-oss-copy-source-range', ArgumentValue: value },
    });
  }
  return { start, end };
}

async function authorizeSourceRead(ctx: RequestContext, deps: ServerDeps, source: CopySource): Promise<void> {
  const { principal } = ctx;
  if (principal.kind === 'temporary') {
    // The token must allow reading the source too (OSS: UploadPartCopy needs oss:GetObject on it).
    if (!isTemporaryPolicy(principal.policy)) {
      throw ossError('AccessDenied', { message: 'Access denied by the security token policy.' });
    }
    checkTemporaryPolicy(principal.policy, { action: 'GetObject', bucket: source.bucket, key: source.key });
    return;
  }
  if (principal.kind !== 'anonymous') return;
  const info = await deps.store.getBucket(source.bucket);
  if ((await effectiveObjectAcl(deps.store, source.bucket, source.key, info.acl)) === 'private') {
    throw ossError('AccessDenied', {
      message: 'You have no right to access this object because of bucket acl.',
    });
  }
}
