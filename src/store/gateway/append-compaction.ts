/**
 * Compaction of appendable objects. Each AppendObject adds its own blob(s), so an object appended
 * to N times is read with N sequential GETs. Past COMPACT_ABOVE_SEGMENTS segments, the gateway that
 * committed the append rewrites them in the background into blobs of `segmentBytes`: it streams
 * the segments it saw through a new body (memory bounded as for any upload), then, in one
 * transaction under the row lock, swaps them for the new blobs only if the object still begins
 * with exactly those segments (later appends may have added more after them; those stay). If the
 * object was replaced or deleted meanwhile, or another gateway compacted it first, the new blobs
 * are discarded. The object's bytes, ETag, CRC-64 and lastModified do not change; the old blobs go
 * to `blob_gc` with the usual grace, so reads in progress finish.
 */
import type pg from 'pg';
import { ossError } from '../../shared/oss-error.ts';
import { discardUncommitted, forgetIntents, recordGarbage } from './blob-gc.ts';
import { transaction } from './pg-pool.ts';
import { readSegments, writeBody, type BlobWriterContext, type Segment } from './segment-writer.ts';

/** An object with more segments than this is compacted after the append that crosses it. */
export const COMPACT_ABOVE_SEGMENTS = 64;

const sameKeys = (a: readonly [string, number][], b: readonly Segment[]): boolean =>
  a.length >= b.length && b.every((s, i) => a[i]![0] === s.key);

/**
 * Rewrites `segments` (the object's segments as read, oldest first) into few blobs and commits
 * them if the object still starts with them. Resolves true when it committed.
 */
export async function compactSegments(
  writer: BlobWriterContext,
  dueMs: () => number,
  bucket: string,
  key: Buffer,
  segments: readonly Segment[],
): Promise<boolean> {
  const size = segments.reduce((sum, s) => sum + s.size, 0);
  const source = await readSegments(writer.blobs, segments, { start: 0, end: size - 1 });
  const written = await writeBody(writer, source, size);
  const newKeys = written.segments.map((s) => s.key);
  try {
    if (written.received.size !== size)
      throw ossError('InternalError', {
        message: `compaction read ${written.received.size} of ${size} bytes`,
      });
    const committed = await transaction(writer.pool, async (client: pg.PoolClient) => {
      const { rows } = await client.query<{ segments: [string, number][] }>(
        'SELECT segments FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
        [bucket, key],
      );
      const current = rows[0]?.segments;
      if (current === undefined || !sameKeys(current, segments)) return false;
      const next = [
        ...written.segments.map((s): [string, number] => [s.key, s.size]),
        ...current.slice(segments.length),
      ];
      await client.query('UPDATE objects SET segments = $3 WHERE bucket = $1 AND key = $2', [
        bucket,
        key,
        JSON.stringify(next),
      ]);
      await forgetIntents(client, newKeys);
      await recordGarbage(
        client,
        segments.map((s) => s.key),
        dueMs(),
      );
      return true;
    });
    if (!committed) await discardUncommitted(writer.pool, writer.blobs, newKeys);
    return committed;
  } catch (error) {
    await discardUncommitted(writer.pool, writer.blobs, newKeys);
    throw error;
  }
}
