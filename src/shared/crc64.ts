/**
 * CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones): the checksum OSS returns in
 * `x-oss-hash-crc64ecma` and `${crc64}` as a decimal uint64 string (SPEC.md §5 variable table).
 *
 * The hot path never touches BigInt: the 64-bit register is kept as two uint32 halves and the input
 * is consumed 8 bytes at a time with slicing-by-8 tables, read as 32-bit words on little-endian hosts.
 * BigInt appears only at the edges (digest, combine), which run once per object or part. Large
 * bodies run this off the main thread (store/hashing/crc64-pool.ts) via `state()` / `Crc64.fromState`.
 *
 * `crc64Combine` gives the CRC of A‖B from crc(A), crc(B) and len(B) without the data (zlib's
 * crc32_combine, GF(2) polynomial method), so a multipart object's CRC comes from its parts' CRCs.
 */

/** ECMA-182 polynomial 0x42F0E1EBA9EA3693, bit-reflected. */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;
const POLY = 0xc96c5795d7870f42n;
const MASK64 = 0xffffffffffffffffn;

/** Whether a Uint32Array view reads bytes b0..b3 as b0 | b1<<8 | b2<<16 | b3<<24 (shared/ stays I/O-free, so no `os`). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** TABLE_LO[k * 256 + n] / TABLE_HI[...]: the slicing-by-8 tables, as two uint32 halves. */
const TABLE_LO = new Uint32Array(8 * 256);
const TABLE_HI = new Uint32Array(8 * 256);

for (let n = 0; n < 256; n++) {
  let lo = n;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TABLE_LO[n] = lo;
  TABLE_HI[n] = hi;
}
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) {
    const prevLo = TABLE_LO[(k - 1) * 256 + n]!;
    const prevHi = TABLE_HI[(k - 1) * 256 + n]!;
    const idx = prevLo & 0xff;
    TABLE_LO[k * 256 + n] = (TABLE_LO[idx]! ^ ((prevLo >>> 8) | (prevHi << 24))) >>> 0;
    TABLE_HI[k * 256 + n] = (TABLE_HI[idx]! ^ (prevHi >>> 8)) >>> 0;
  }
}

/** Incremental CRC-64/XZ. `digest()` may be called at any time and does not end the computation. */
export class Crc64 {
  // The register, pre-inverted (init all ones), as two uint32 halves.
  #lo = 0xffffffff;
  #hi = 0xffffffff;

  update(data: Uint8Array): this {
    const len = data.length;
    let i = 0;
    // Little-endian hosts read the input a 32-bit word at a time through a Uint32Array view (about
    // 1.5x faster than four byte loads); the view needs 4-byte alignment, so a misaligned head goes
    // through the byte loop first. Big-endian hosts keep the byte loads for everything.
    if (LITTLE_ENDIAN && len >= 64) {
      const head = (4 - (data.byteOffset & 3)) & 3;
      if (head > 0) this.#bytes(data, 0, head);
      const words = ((len - head) >>> 3) << 1;
      if (words > 0) {
        this.#words(new Uint32Array(data.buffer, data.byteOffset + head, words));
        i = head + words * 4;
      } else {
        i = head;
      }
    }
    const end8 = i + ((len - i) & ~7);
    if (end8 > i) this.#slices(data, i, end8);
    if (end8 < len) this.#bytes(data, end8, len);
    return this;
  }

  /** Slicing-by-8 over 32-bit words (two per step), little-endian view. */
  #words(words: Uint32Array): void {
    let lo = this.#lo;
    let hi = this.#hi;
    const tl = TABLE_LO;
    const th = TABLE_HI;
    const n = words.length;
    for (let w = 0; w < n; w += 2) {
      const a = lo ^ words[w]!;
      const b = hi ^ words[w + 1]!;
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      lo = tl[i7]! ^ tl[i6]! ^ tl[i5]! ^ tl[i4]! ^ tl[i3]! ^ tl[i2]! ^ tl[i1]! ^ tl[i0]!;
      hi = th[i7]! ^ th[i6]! ^ th[i5]! ^ th[i4]! ^ th[i3]! ^ th[i2]! ^ th[i1]! ^ th[i0]!;
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /** Slicing-by-8 over data[start, end), end - start a multiple of 8, bytes assembled by hand. */
  #slices(data: Uint8Array, start: number, end: number): void {
    let lo = this.#lo;
    let hi = this.#hi;
    const tl = TABLE_LO;
    const th = TABLE_HI;
    for (let i = start; i < end; i += 8) {
      const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      lo = tl[i7]! ^ tl[i6]! ^ tl[i5]! ^ tl[i4]! ^ tl[i3]! ^ tl[i2]! ^ tl[i1]! ^ tl[i0]!;
      hi = th[i7]! ^ th[i6]! ^ th[i5]! ^ th[i4]! ^ th[i3]! ^ th[i2]! ^ th[i1]! ^ th[i0]!;
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /** One byte at a time over data[start, end): heads, tails and short inputs. */
  #bytes(data: Uint8Array, start: number, end: number): void {
    let lo = this.#lo;
    let hi = this.#hi;
    const tl = TABLE_LO;
    const th = TABLE_HI;
    for (let i = start; i < end; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = tl[idx]! ^ ((lo >>> 8) | (hi << 24));
      hi = th[idx]! ^ (hi >>> 8);
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  /**
   * The register as two uint32 halves (pre-inverted, no xorout), so the computation can be resumed
   * elsewhere (a worker thread) with `Crc64.fromState`.
   */
  state(): [lo: number, hi: number] {
    return [this.#lo, this.#hi];
  }

  /** Resumes a computation from `state()`. */
  static fromState(lo: number, hi: number): Crc64 {
    if (lo !== lo >>> 0 || hi !== hi >>> 0) throw new RangeError(`not a CRC-64 register: ${lo}, ${hi}`);
    const crc = new Crc64();
    crc.#lo = lo;
    crc.#hi = hi;
    return crc;
  }

  /** The CRC so far as a bigint (xorout applied). */
  value(): bigint {
    return ((BigInt(~this.#hi >>> 0) << 32n) | BigInt(~this.#lo >>> 0)) & MASK64;
  }

  /** The CRC so far as OSS writes it: a decimal uint64 string. */
  digest(): string {
    return this.value().toString(10);
  }
}

/** CRC-64/XZ of one buffer, as a decimal string. */
export function crc64(data: Uint8Array): string {
  return new Crc64().update(data).digest();
}

/**
 * Polynomial product a·b modulo the CRC polynomial, in the reflected representation where x^0 is
 * the top bit (zlib multmodp).
 */
function multModP(a: bigint, b: bigint): bigint {
  let m = 1n << 63n;
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ POLY : b >> 1n;
  }
  return p;
}

/** X2N[k] = x^(2^k) mod p. 64 entries cover any length a JS number can hold (in bits). */
const X2N: bigint[] = [1n << 62n];
for (let k = 1; k < 64; k++) X2N.push(multModP(X2N[k - 1]!, X2N[k - 1]!));

/** x^(n·2^k) mod p. */
function x2nModP(n: bigint, k: number): bigint {
  let p = 1n << 63n;
  while (n) {
    if (n & 1n) p = multModP(X2N[k & 63]!, p);
    n >>= 1n;
    k++;
  }
  return p;
}

function toBigInt(crc: string | bigint): bigint {
  const value = typeof crc === 'bigint' ? crc : BigInt(crc);
  if (value < 0n || value > MASK64) throw new RangeError(`not a uint64 CRC: ${String(crc)}`);
  return value;
}

let lastLength = -1;
let lastShift = 0n;

/**
 * CRC of the concatenation A‖B given crc(A), crc(B) and the byte length of B. Works for
 * CRC-64/XZ's init/xorout of all ones for the same reason zlib's crc32_combine does: the
 * init and xorout contributions cancel when B's register is shifted through len(B) zero bytes.
 */
export function crc64Combine(crcA: string | bigint, crcB: string | bigint, lengthB: number): string {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`bad length: ${lengthB}`);
  const a = toBigInt(crcA);
  const b = toBigInt(crcB);
  if (lengthB === 0) return a.toString(10);
  // Multipart parts are mostly one size: reuse x^(8·len) mod p for a repeated length.
  if (lengthB !== lastLength) {
    lastShift = x2nModP(BigInt(lengthB), 3);
    lastLength = lengthB;
  }
  return (multModP(lastShift, a) ^ b).toString(10);
}
