/**
 * AppendObject (`POST /key?append&position=N`): appends the body to an Appendable object, or
 * creates one at position 0. The store enforces the rules (PositionNotEqualToLength with the
 * next position, ObjectNotAppendable for Normal/Multipart objects); metadata headers count on the
 * first append only.
 *
 * Integrity: `Content-MD5` describes this request's body, so it is checked against an MD5 taken
 * while the body streams through; `x-oss-hash-crc64ecma` is compared with the whole object after
 * the append, the value the response reports.
 */
// FIDELITY: OSS does not document whether a client-sent CRC64 on AppendObject covers the appended
// bytes or the whole object; upcall checks it against the whole object (what the response reports).
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ossError } from '../../shared/oss-error.ts';
import type { StoredObject } from '../../store/object-store.ts';
import { expectedDigests, verifyDigests } from '../integrity.ts';
import { requireObject } from '../request-arguments.ts';
import { objectMetaFromHeaders, uploadResultHeaders } from '../object-meta.ts';
import { objectSettingsFromHeaders } from '../object-settings.ts';
import { withBucketEncryption } from '../server-side-encryption.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { declaredBodySize, MAX_PUT_OBJECT_BYTES, refuseDeclaredOversize } from './put-object.ts';

export const appendObject: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const position = parsePosition(ctx.query.get('position'));
  refuseDeclaredOversize(ctx, MAX_PUT_OBJECT_BYTES - position);
  const meta = objectMetaFromHeaders(ctx.headers, key);
  const settings = await withBucketEncryption(deps.store, bucket, objectSettingsFromHeaders(ctx.headers));
  const { contentMd5, crc64 } = expectedDigests(ctx.headers);

  let body: Readable = ctx.body;
  let md5: Hash | undefined;
  if (contentMd5 !== undefined) {
    const hash = createHash('md5');
    md5 = hash;
    body = ctx.body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
      }),
    );
    ctx.body.once('error', (error) => body.destroy(error));
  }

  const beforeCommit = (pending: StoredObject): void => {
    if (contentMd5 !== undefined && md5 !== undefined) {
      const calculated = md5.digest('base64');
      if (calculated !== contentMd5) {
        throw ossError('BadDigest', { details: { ExpectedMD5: contentMd5, CalculatedMD5: calculated } });
      }
    }
    if (crc64 !== undefined) verifyDigests({ crc64 }, pending);
  };

  const object = await deps.store.appendObject(bucket, key, position, body, {
    meta,
    settings,
    maxSize: MAX_PUT_OBJECT_BYTES - position,
    ...declaredBodySize(ctx),
    beforeCommit,
  });
  const headers = uploadResultHeaders(object);
  delete headers['Content-MD5'];
  return { status: 200, headers: { ...headers, 'x-oss-next-append-position': object.size } };
};

/** @throws InvalidArgument unless a non-negative integer */
function parsePosition(value: string | null): number {
  const position = value !== null && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(position)) {
    throw ossError('InvalidArgument', {
      message: 'Position must be a non-negative integer.',
      details: { ArgumentName: 'position', ArgumentValue: value ?? '' },
    });
  }
  return position;
}
