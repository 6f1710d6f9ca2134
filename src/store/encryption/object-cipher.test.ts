import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { chunkSink } from '../hashing/hashing-writer.ts';
import {
  BLOB_HEADER_BYTES,
  decryptBlobBuffer,
  decryptBlobRange,
  encryptingSink,
  newObjectEncryption,
  unwrapDataKey,
} from './object-cipher.ts';

function encrypt(dataKey: Buffer, pieces: Buffer[]): Promise<Buffer> {
  const { sink, chunks } = chunkSink();
  const encrypting = encryptingSink(sink, dataKey);
  return new Promise((resolve, reject) => {
    const next = (i: number): void => {
      if (i === pieces.length) {
        encrypting.finish((error) => (error ? reject(error) : resolve(Buffer.concat(chunks))));
        return;
      }
      encrypting.write([pieces[i]!], (error) => (error ? reject(error) : next(i + 1)));
    };
    next(0);
  });
}

describe('object cipher', () => {
  const master = randomBytes(32);

  it('wraps a data key that only its master key unwraps', () => {
    const { record, dataKey } = newObjectEncryption(master);
    expect(record.algorithm).toBe('AES256');
    expect(unwrapDataKey(master, record)).toEqual(dataKey);
    expect(() => unwrapDataKey(randomBytes(32), record)).toThrow();
  });

  it('stores no plaintext, and decrypts every range, from any offset, streamed or in memory', async () => {
    const { dataKey } = newObjectEncryption(master);
    const plain = randomBytes(1000);
    // Written in odd-sized chunks, as a body arrives.
    const blob = await encrypt(dataKey, [plain.subarray(0, 7), plain.subarray(7, 500), plain.subarray(500)]);
    expect(blob.length).toBe(BLOB_HEADER_BYTES + plain.length);
    expect(blob.subarray(BLOB_HEADER_BYTES).equals(plain)).toBe(false);
    const iv = blob.subarray(0, BLOB_HEADER_BYTES);
    for (const [start, end] of [
      [0, 999],
      [0, 0],
      [15, 16],
      [16, 31],
      [17, 500],
      [999, 999],
      [33, 970],
    ] as const) {
      const streamed = await buffer(
        Readable.from([blob.subarray(BLOB_HEADER_BYTES + start, BLOB_HEADER_BYTES + end + 1)]).pipe(
          decryptBlobRange(dataKey, iv, start),
        ),
      );
      expect(streamed.equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      expect(decryptBlobBuffer(dataKey, blob, start, end).equals(plain.subarray(start, end + 1))).toBe(true);
    }
  });

  it('gives every blob its own IV, and an empty body its IV alone', async () => {
    const { dataKey } = newObjectEncryption(master);
    const plain = Buffer.alloc(64, 7);
    const a = await encrypt(dataKey, [plain]);
    const b = await encrypt(dataKey, [plain]);
    expect(a.equals(b)).toBe(false);
    expect(await encrypt(dataKey, [])).toHaveLength(BLOB_HEADER_BYTES);
  });

  it('carries the counter across the top of its 128 bits', () => {
    // A blob whose IV is all ones wraps on its second block; decrypting there must agree with CTR.
    const dataKey = randomBytes(32);
    const plain = randomBytes(80);
    const iv = Buffer.alloc(16, 0xff);
    const cipher = createCipheriv('aes-256-ctr', dataKey, iv);
    const blob = Buffer.concat([iv, cipher.update(plain), cipher.final()]);
    expect(decryptBlobBuffer(dataKey, blob, 37, 79).equals(plain.subarray(37))).toBe(true);
  });
});
