/**
 * Upload integrity checks shared by every operation that stores a body (PutObject, AppendObject,
 * UploadPart, PostObject): `Content-MD5` (OSS: InvalidDigest when it is not a base64 MD5,
 * BadDigest when the body differs) and `x-oss-hash-crc64ecma` sent by the client (InvalidCRC64
 * when the body differs). Header syntax is checked before the body is read; the comparison runs
 * as the store's `beforeCommit`, so a mismatching body is never visible.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ossError } from '../shared/oss-error.ts';
import type { StoredObject } from '../store/object-store.ts';

/** What a stored body's digests are read from: an object, or a multipart part (no contentMd5 kept). */
export type DigestedBody = Pick<StoredObject, 'etag' | 'crc64' | 'contentMd5'>;

export interface ExpectedDigests {
  /** base64 of the 16-byte MD5, as sent. */
  contentMd5?: string;
  /** Decimal CRC-64/ECMA as sent. */
  crc64?: string;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const BASE64_MD5 = /^[A-Za-z0-9+/]{22}==$/;
const UINT64 = /^\d{1,20}$/;

/** Reads and syntax-checks the digests a client sent. @throws InvalidDigest | InvalidArgument */
export function expectedDigests(headers: IncomingHttpHeaders): ExpectedDigests {
  const expected: ExpectedDigests = {};
  const md5 = first(headers['content-md5']);
  if (md5 !== undefined) {
    const trimmed = md5.trim();
    if (!BASE64_MD5.test(trimmed)) throw ossError('InvalidDigest', { details: { 'Content-MD5': md5 } });
    expected.contentMd5 = trimmed;
  }
  const crc = first(headers['x-oss-hash-crc64ecma']);
  if (crc !== undefined) {
    const trimmed = crc.trim();
    if (!UINT64.test(trimmed) || BigInt(trimmed) > 0xffffffffffffffffn) {
      throw ossError('InvalidArgument', {
        message: 'The CRC64 you specified is not valid.',
        details: { ArgumentName: 'x-oss-hash-crc64ecma', ArgumentValue: crc },
      });
    }
    expected.crc64 = BigInt(trimmed).toString();
  }
  return expected;
}

/** base64 MD5 of the body, from its hex ETag when no contentMd5 is kept. */
function bodyMd5(object: DigestedBody): string {
  return object.contentMd5 ?? Buffer.from(object.etag, 'hex').toString('base64');
}

/** Compares the received body with what the client promised. @throws BadDigest | InvalidCRC64 */
export function verifyDigests(expected: ExpectedDigests, received: DigestedBody): void {
  if (expected.contentMd5 !== undefined && expected.contentMd5 !== bodyMd5(received)) {
    throw ossError('BadDigest', {
      details: { ExpectedMD5: expected.contentMd5, CalculatedMD5: bodyMd5(received) },
    });
  }
  if (expected.crc64 !== undefined && expected.crc64 !== received.crc64) {
    throw ossError('InvalidCRC64', {
      details: { ClientCRC: expected.crc64, ServerCRC: received.crc64 },
    });
  }
}

/** The `beforeCommit` hook for an upload or a part, or undefined when nothing was promised. */
export function integrityCheck(headers: IncomingHttpHeaders): ((pending: DigestedBody) => void) | undefined {
  const expected = expectedDigests(headers);
  if (expected.contentMd5 === undefined && expected.crc64 === undefined) return undefined;
  return (pending) => verifyDigests(expected, pending);
}
