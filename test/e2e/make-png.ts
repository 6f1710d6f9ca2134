/**
 * Builds a real PNG (RGB, 8-bit) in memory for browser tests: a diagonal gradient with a
 * stripe, so a thumbnail that renders is visibly an image, not a blank box. With `grain`, every
 * pixel also gets some noise (the same each time), which deflate cannot squeeze: the file stays
 * about as large as its pixels, for tests that need an upload of several parts.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

export function makePng(width: number, height: number, options: { grain?: boolean } = {}): Buffer {
  let seed = 0x2545f491;
  const grain = (): number => {
    if (options.grain !== true) return 0;
    // xorshift32: deterministic, so the file is the same on every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % 48;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const stripe = Math.abs(x - y) < width / 10;
      // Red fades to 0 at the left edge, so its grain is subtracted and clamped there; green and
      // blue have room above them for the grain they get added.
      row[1 + x * 3] = Math.max(0, (stripe ? 255 : Math.round((x / width) * 255)) - grain());
      row[2 + x * 3] = (stripe ? 106 : Math.round((y / height) * 180)) + grain();
      row[3 + x * 3] = (stripe ? 0 : 200) + grain();
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
