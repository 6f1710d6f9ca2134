/**
 * Server-side encryption at rest (OSS `x-oss-server-side-encryption: AES256`, SSE-OSS), the
 * backend-neutral half: every backend applies it to its own blobs.
 *
 * Scheme: each object (or multipart upload, whose parts become the object) gets a random 256-bit
 * data key, kept only wrapped by the server's master key (AES-256-GCM: a tampered or foreign
 * record fails to unwrap instead of decrypting to garbage). Each blob of the object is AES-256-CTR
 * under that data key with its own random 128-bit IV, stored as the blob's first 16 bytes. CTR is a
 * stream cipher whose keystream can start at any block, so a ranged read decrypts from the range's
 * first byte without reading what comes before it, and an object made of many blobs (appends,
 * multipart parts) decrypts piece by piece. ETag, Content-MD5 and CRC-64 stay digests of the
 * plaintext (as on OSS): the hashing writer sees the body before the encrypting sink does.
 *
 * A backend adopts it in three steps (how fs and memory do): keep the `ObjectEncryption` record
 * with the object / upload row (it is small JSON); write each new blob through
 * `encryptingSink(sink, dataKey)`; read each blob range through `decryptBlobRange`, which needs the
 * blob's first BLOB_HEADER_BYTES (the IV) and the ciphertext of the range, 16 bytes further on.
 * An S3 backend reads the header with a 16-byte ranged GET (or keeps the IV beside the blob id)
 * and the range with another.
 *
 * Invariant: no (data key, IV, block) is ever used for two different plaintexts: IVs are random per
 * blob and nothing is rewritten in place (appends and parts are new blobs).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import type { BodySink } from '../hashing/hashing-writer.ts';

/** The one algorithm upcall runs; KMS and SM4 need a key service it does not have. */
export type EncryptionAlgorithm = 'AES256';

/** What a backend keeps with an encrypted object or upload: the data key, wrapped. */
export interface ObjectEncryption {
  algorithm: EncryptionAlgorithm;
  /** base64 of IV (12) + GCM tag (16) + encrypted data key (32), under the master key. */
  wrappedKey: string;
}

/** The IV at the start of every encrypted blob. */
export const BLOB_HEADER_BYTES = 16;
const BLOCK = 16;

/** A master key: 32 bytes. @throws Error when it is not */
export function checkMasterKey(key: Buffer): Buffer {
  if (key.length !== 32) throw new Error('The server-side encryption master key must be 32 bytes.');
  return key;
}

/** A new data key for an object or upload, and the record that keeps it wrapped. */
export function newObjectEncryption(masterKey: Buffer): { record: ObjectEncryption; dataKey: Buffer } {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return {
    record: {
      algorithm: 'AES256',
      wrappedKey: Buffer.concat([iv, cipher.getAuthTag(), wrapped]).toString('base64'),
    },
    dataKey,
  };
}

/** The data key of `record`. @throws Error when the master key is not the one that wrapped it */
export function unwrapDataKey(masterKey: Buffer, record: ObjectEncryption): Buffer {
  const raw = Buffer.from(record.wrappedKey, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

/** The CTR counter block for byte `offset` of a blob whose IV is `iv`: IV + offset / 16, mod 2^128. */
function counterAt(iv: Buffer, offset: number): Buffer {
  const counter = Buffer.from(iv);
  let carry = BigInt(Math.floor(offset / BLOCK));
  for (let i = BLOCK - 1; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(counter[i]!) + (carry & 0xffn);
    counter[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return counter;
}

/**
 * A sink that writes a fresh IV, then the chunks encrypted, into `sink`. The caller hashes the
 * plaintext before it reaches here.
 */
export function encryptingSink(sink: BodySink, dataKey: Buffer): BodySink {
  const iv = randomBytes(BLOB_HEADER_BYTES);
  const cipher = createCipheriv('aes-256-ctr', dataKey, iv);
  let headerWritten = false;
  return {
    write(chunks, callback) {
      const out = chunks.map((chunk) => cipher.update(chunk));
      if (!headerWritten) {
        headerWritten = true;
        out.unshift(iv);
      }
      sink.write(out, callback);
    },
    finish(callback) {
      // CTR has no padding: final() adds nothing, but an empty body still gets its IV.
      const rest = cipher.final();
      const out = headerWritten ? [] : [iv];
      headerWritten = true;
      if (rest.length > 0) out.push(rest);
      if (out.length === 0) return sink.finish(callback);
      sink.write(out, (error) => (error ? callback(error) : sink.finish(callback)));
    },
  };
}

/**
 * A decipher positioned at plaintext byte `start` of a blob whose IV is `iv`: `update` the blob's
 * bytes from BLOB_HEADER_BYTES + start on, in order (CTR output is as long as its input).
 */
export function decipherFrom(dataKey: Buffer, iv: Buffer, start: number): { update(chunk: Buffer): Buffer } {
  const decipher = createDecipheriv('aes-256-ctr', dataKey, counterAt(iv, start));
  // The range may start inside a block: run the keystream over the bytes before it and drop them.
  const skip = start % BLOCK;
  if (skip > 0) decipher.update(Buffer.alloc(skip));
  return decipher;
}

/**
 * A Transform that decrypts the ciphertext of plaintext bytes `start`… of a blob whose IV is `iv`
 * (the blob's first BLOB_HEADER_BYTES); feed it the blob's bytes from BLOB_HEADER_BYTES + start.
 */
export function decryptBlobRange(dataKey: Buffer, iv: Buffer, start: number): Transform {
  const decipher = decipherFrom(dataKey, iv, start);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, decipher.update(chunk));
    },
  });
}

/** Decrypts a whole blob held in memory (IV header + ciphertext), or its plaintext bytes start…end. */
export function decryptBlobBuffer(
  dataKey: Buffer,
  blob: Buffer,
  start = 0,
  end = blob.length - BLOB_HEADER_BYTES - 1,
): Buffer {
  const decipher = decipherFrom(dataKey, blob.subarray(0, BLOB_HEADER_BYTES), start);
  return decipher.update(blob.subarray(BLOB_HEADER_BYTES + start, BLOB_HEADER_BYTES + end + 1));
}
