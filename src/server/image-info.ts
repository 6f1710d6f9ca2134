/**
 * `${imageInfo.width}`, `${imageInfo.height}`, `${imageInfo.format}` of an uploaded object
 * (SPEC.md §3.1): read from the stored object's first bytes with image-size, only when the
 * callback body references them (templateUsesImageInfo), so ordinary uploads never pay for it.
 *
 * Invariant: reads at most MAX_IMAGE_HEADER_BYTES; anything that is not a recognised raster image
 * (or is truncated, or fails to read) is "not an image": undefined, and the variables render empty.
 */
import type { Readable } from 'node:stream';
import { imageSize } from 'image-size';
import type { ImageInfo } from '../callback/render-callback-body.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** JPEG SOF markers can sit behind large EXIF blocks; 512 KiB covers real camera files. */
export const MAX_IMAGE_HEADER_BYTES = 512 * 1024;

/**
 * image-size type → the spelling OSS uses in `${imageInfo.format}`.
 * FIDELITY: OSS documents "jpg, png" (zh) / "JPG and PNG" (en), SPEC §3.1 [U]; we send lower-case,
 * and only for the raster formats OSS image processing reads. SVG, ICO, PSD and the like are not
 * images to OSS, so they render empty.
 */
const FORMATS: Readonly<Record<string, string>> = {
  jpg: 'jpg',
  png: 'png',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  tiff: 'tiff',
};

/** Image facts of a buffer holding (the start of) a file, or undefined for non-images. */
export function imageInfoFromBytes(bytes: Uint8Array): ImageInfo | undefined {
  if (bytes.length === 0) return undefined;
  let result: ReturnType<typeof imageSize>;
  try {
    result = imageSize(bytes);
  } catch {
    return undefined; // unsupported type, or the dimensions are past what we read
  }
  const format = result.type === undefined ? undefined : FORMATS[result.type];
  if (format === undefined || !(result.width > 0) || !(result.height > 0)) return undefined;
  return { width: result.width, height: result.height, format };
}

/** Reads at most `limit` bytes from `stream`, then destroys it. */
export async function readHead(stream: Readable, limit = MAX_IMAGE_HEADER_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  const all = Buffer.concat(chunks);
  return all.length > limit ? all.subarray(0, limit) : all;
}

/** Image facts of a stored object; undefined for non-images and on any read failure. */
export async function readImageInfo(
  store: Pick<ObjectStore, 'getObject'>,
  bucket: string,
  key: string,
  size: number,
): Promise<ImageInfo | undefined> {
  if (size <= 0) return undefined;
  try {
    const { body } = await store.getObject(bucket, key, {
      start: 0,
      end: Math.min(size, MAX_IMAGE_HEADER_BYTES) - 1,
    });
    return imageInfoFromBytes(await readHead(body));
  } catch {
    return undefined;
  }
}
