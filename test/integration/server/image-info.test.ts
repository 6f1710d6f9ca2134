// Image facts for ${imageInfo.*}: hand-built headers of each format, non-images, and a stored object.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { imageInfoFromBytes, readHead, readImageInfo } from '../../../src/server/image-info.ts';
import { createMemoryObjectStore } from '../../../src/store/index.ts';

function png(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // RGBA
  const length = Buffer.alloc(4);
  length.writeUInt32BE(13);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    length,
    Buffer.from('IHDR'),
    ihdr,
    Buffer.alloc(4), // CRC (not checked)
  ]);
}

function gif(width: number, height: number): Buffer {
  const b = Buffer.alloc(13);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

/** SOI, an APP0 segment, then SOF0 with the dimensions. */
function jpeg(width: number, height: number, padding = 0): Buffer {
  const app = Buffer.alloc(4 + padding);
  app.writeUInt16BE(0xffe1, 0); // APP1 (EXIF-like), pushes SOF further in
  app.writeUInt16BE(2 + padding, 2);
  const sof = Buffer.alloc(19);
  sof.writeUInt16BE(0xffc0, 0);
  sof.writeUInt16BE(17, 2);
  sof.writeUInt8(8, 4);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  sof.writeUInt8(3, 9);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app, sof, Buffer.from([0xff, 0xd9])]);
}

describe('image info', () => {
  it('reads width, height and the lower-case OSS format name', () => {
    expect(imageInfoFromBytes(png(200, 278))).toEqual({ width: 200, height: 278, format: 'png' });
    expect(imageInfoFromBytes(gif(16, 9))).toEqual({ width: 16, height: 9, format: 'gif' });
    expect(imageInfoFromBytes(jpeg(810, 539))).toEqual({ width: 810, height: 539, format: 'jpg' });
  });

  it('treats text, empty, truncated and non-raster files as not images', () => {
    expect(imageInfoFromBytes(Buffer.from('hello world'))).toBeUndefined();
    expect(imageInfoFromBytes(Buffer.alloc(0))).toBeUndefined();
    expect(imageInfoFromBytes(png(1, 1).subarray(0, 12))).toBeUndefined();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"></svg>');
    expect(imageInfoFromBytes(svg)).toBeUndefined();
  });

  it('reads at most the limit from a stream and destroys it', async () => {
    const stream = Readable.from([Buffer.alloc(100), Buffer.alloc(100), Buffer.alloc(100)]);
    const head = await readHead(stream, 150);
    expect(head.length).toBe(150);
    expect(stream.destroyed).toBe(true);
  });

  it('reads a stored object, including a JPEG whose SOF sits behind a 60 KiB segment', async () => {
    const store = createMemoryObjectStore();
    try {
      await store.createBucket('photos', 'private');
      const body = Buffer.concat([jpeg(1024, 768, 60_000), Buffer.alloc(700_000)]);
      const meta = { meta: { contentType: 'image/jpeg', userMeta: {} } };
      await store.putObject('photos', 'a.jpg', Readable.from([body]), meta);
      expect(await readImageInfo(store, 'photos', 'a.jpg', body.length)).toEqual({
        width: 1024,
        height: 768,
        format: 'jpg',
      });
      await store.putObject('photos', 'a.txt', Readable.from([Buffer.from('text')]), meta);
      expect(await readImageInfo(store, 'photos', 'a.txt', 4)).toBeUndefined();
      expect(await readImageInfo(store, 'photos', 'missing', 10)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
