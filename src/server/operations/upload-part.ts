/**
 * UploadPart (`PUT /key?partNumber=N&uploadId=…`): streams one part (at most 5 GiB) into the
 * upload, replacing an earlier part with the same number. Returns the part's quoted MD5 ETag and
 * its CRC-64, which the client lists again in CompleteMultipartUpload.
 *
 * Invariant: a part whose body does not match the `Content-MD5` / `x-oss-hash-crc64ecma` the client
 * sent is never stored: the digests are checked as the last bytes pass, and a mismatch fails the
 * body stream before it ends, which makes the store discard the part (object-store.ts).
 * `x-oss-callback` is ignored here (ali-oss copies it onto parts; SPEC.md §7.4).
 */
import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { Crc64 } from '../../shared/crc64.ts';
import { ossError, type OssError } from '../../shared/oss-error.ts';
import { expectedDigests, type ExpectedDigests } from '../integrity.ts';
import { MAX_PART_SIZE, parsePartNumber, uploadRefOf } from '../multipart-request.ts';
import { quoteEtag } from '../object-meta.ts';
import type { Operation } from '../request-context.ts';

export const uploadPart: Operation = async (ctx, deps) => {
  const upload = uploadRefOf(ctx);
  const partNumber = parsePartNumber(ctx.query.get('partNumber'));
  const expected = expectedDigests(ctx.headers);
  const checked = digestCheckedBody(ctx.body, expected);
  let part;
  try {
    part = await deps.store.multipart.uploadPart(upload, partNumber, checked.body, {
      maxSize: MAX_PART_SIZE,
    });
  } catch (error) {
    throw checked.mismatch() ?? error;
  }
  return {
    status: 200,
    headers: {
      ETag: quoteEtag(part.etag),
      'Content-MD5': Buffer.from(part.etag, 'hex').toString('base64'),
      'x-oss-hash-crc64ecma': part.crc64,
    },
  };
};

interface CheckedBody {
  body: Readable;
  /** The BadDigest / InvalidCRC64 that failed the stream, if that is why the store gave up. */
  mismatch: () => OssError | undefined;
}

/** The request body, passed through unchanged but failing at its end when a promised digest differs. */
function digestCheckedBody(body: Readable, expected: ExpectedDigests): CheckedBody {
  if (expected.contentMd5 === undefined && expected.crc64 === undefined) {
    return { body, mismatch: () => undefined };
  }
  const md5 = expected.contentMd5 === undefined ? undefined : createHash('md5');
  const crc = expected.crc64 === undefined ? undefined : new Crc64();
  let mismatch: OssError | undefined;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5?.update(chunk);
      crc?.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const calculatedMd5 = md5?.digest('base64');
      const calculatedCrc = crc?.digest();
      if (calculatedMd5 !== undefined && calculatedMd5 !== expected.contentMd5) {
        mismatch = ossError('BadDigest', {
          details: { ExpectedMD5: expected.contentMd5 ?? '', CalculatedMD5: calculatedMd5 },
        });
      } else if (calculatedCrc !== undefined && calculatedCrc !== expected.crc64) {
        mismatch = ossError('InvalidCRC64', {
          details: { ClientCRC: expected.crc64 ?? '', ServerCRC: calculatedCrc },
        });
      }
      callback(mismatch);
    },
  });
  // Not `pipeline`: that would destroy the request (and the socket) when the check fails, and the
  // client would never see the error response. A dying request still fails the store's side.
  body.on('error', (error) => check.destroy(error));
  check.on('error', () => undefined);
  check.on('close', () => {
    body.unpipe(check);
    body.resume();
  });
  body.pipe(check);
  return { body: check, mismatch: () => mismatch };
}
