import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Crc64, crc64, crc64Combine } from './crc64.ts';

/** Bit-at-a-time CRC-64/XZ with BigInt: slow, obviously correct, the oracle for the fast path. */
function referenceCrc64(data: Uint8Array): string {
  const poly = 0xc96c5795d7870f42n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return (crc ^ 0xffffffffffffffffn).toString(10);
}

describe('crc64 (CRC-64/XZ, ECMA-182)', () => {
  it('matches the catalogue check value for "123456789"', () => {
    expect(crc64(Buffer.from('123456789'))).toBe('11051210869376104954');
    expect(BigInt(crc64(Buffer.from('123456789')))).toBe(0x995dc9bbdf1939fan);
  });

  it('is 0 for no data', () => {
    expect(crc64(new Uint8Array(0))).toBe('0');
    expect(new Crc64().digest()).toBe('0');
  });

  it('matches known values for common inputs', () => {
    // Single bytes and all-ones runs exercise the tail loop and the 8-byte loop separately.
    expect(crc64(Buffer.from('a'))).toBe(referenceCrc64(Buffer.from('a')));
    expect(crc64(Buffer.alloc(1024, 0xff))).toBe(referenceCrc64(Buffer.alloc(1024, 0xff)));
  });

  it('agrees with a bit-at-a-time reference on random data of every alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(crc64(data)).toBe(referenceCrc64(data));
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with the reference at every byte offset into a shared buffer (the 32-bit word path)', () => {
    // Views at offsets 0..7 of one ArrayBuffer: aligned and misaligned heads, then words, then tails.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 700 }), fc.nat(7), (bytes, offset) => {
        const backing = new Uint8Array(bytes.length + 8);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        expect(crc64(view)).toBe(referenceCrc64(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('matches the check value when "123456789" sits inside a larger misaligned input', () => {
    const backing = Buffer.alloc(3 + 9 * 16);
    for (let k = 0; k < 16; k++) backing.write('123456789', 3 + 9 * k, 'latin1');
    let expected = '0';
    for (let k = 0; k < 16; k++) expected = crc64Combine(expected, 0x995dc9bbdf1939fan, 9);
    expect(crc64(backing.subarray(3))).toBe(expected);
    expect(crc64(backing.subarray(3))).toBe(referenceCrc64(backing.subarray(3)));
  });

  it('resumes from state() with fromState() to the same result, and rejects a bad register', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog, twice over: the quick brown fox');
    const first = new Crc64().update(data.subarray(0, 13));
    const [lo, hi] = first.state();
    expect(Crc64.fromState(lo, hi).update(data.subarray(13)).digest()).toBe(crc64(data));
    expect(Crc64.fromState(...new Crc64().state()).digest()).toBe('0');
    expect(() => Crc64.fromState(-1, 0)).toThrow(RangeError);
    expect(() => Crc64.fromState(0, 2 ** 32)).toThrow(RangeError);
    expect(() => Crc64.fromState(0.5, 0)).toThrow(RangeError);
  });

  it('gives the same result however the input is split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat(200), { maxLength: 5 }),
        (data, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          const crc = new Crc64();
          let from = 0;
          for (const p of points) {
            crc.update(data.subarray(from, p));
            from = p;
          }
          crc.update(data.subarray(from));
          expect(crc.digest()).toBe(crc64(data));
        },
      ),
    );
  });
});

describe('crc64Combine', () => {
  it('equals the CRC of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.uint8Array({ maxLength: 500 }), (a, b) => {
        expect(crc64Combine(crc64(a), crc64(b), b.length)).toBe(crc64(Buffer.concat([a, b])));
      }),
      { numRuns: 200 },
    );
  });

  it('chains over many parts, as CompleteMultipartUpload does', () => {
    const parts = [Buffer.alloc(100_000, 1), Buffer.from('x'), Buffer.alloc(0), Buffer.alloc(70_001, 0xab)];
    let combined = '0';
    for (const part of parts) combined = crc64Combine(combined, crc64(part), part.length);
    expect(combined).toBe(crc64(Buffer.concat(parts)));
  });

  it('accepts bigint inputs and rejects values outside uint64', () => {
    expect(crc64Combine(0n, 0x995dc9bbdf1939fan, 9)).toBe('11051210869376104954');
    expect(() => crc64Combine('-1', '0', 1)).toThrow(RangeError);
    expect(() => crc64Combine('18446744073709551616', '0', 1)).toThrow(RangeError);
    expect(() => crc64Combine('0', '0', -1)).toThrow(RangeError);
  });
});
