/**
 * Receives one upload body into blobs of the S3 engine: the BodySink behind the hashing writer.
 *
 * The store is not told a body's length (chunked uploads have none) and S3 engines need a
 * Content-Length on every PUT (RGW refuses chunked PUTs, Swift's acceptance is not to be relied
 * on), so the body is cut into segments of at most `segmentBytes`, each PUT with its length:
 * a body up to that bound is one blob. Memory per upload is bounded by two segments: the one
 * being PUT and the next one being received; the receive side waits (backpressure) while a PUT
 * is still running.
 *
 * Every blob goes under a fresh random key, after its intent is committed (blob-gc.ts), and is
 * verified: the engine's ETag (the MD5 of what it stored) must equal the MD5 of what upcall sent.
 * A multi-segment body hashes each segment; a one-segment body uses the whole-body MD5 the hashing
 * writer computes anyway. A mismatch fails the write with InternalError.
 *
 * On any failure every blob written so far is deleted (or left to the sweep through its intent).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { ossError } from '../../shared/oss-error.ts';
import type { Crc64Pool } from '../hashing/crc64-pool.ts';
import {
  receiveBody,
  type BodySink,
  type ReceivedBody,
  type ReceiveBodyOptions,
} from '../hashing/hashing-writer.ts';
import { discardUncommitted, recordIntent } from './blob-gc.ts';
import type { BlobStore } from './blob-store.ts';

/** One blob of an object's body, in order. */
export interface Segment {
  key: string;
  size: number;
}

export interface BlobWriterContext {
  pool: pg.Pool;
  blobs: BlobStore;
  now: () => number;
  segmentBytes: number;
  /** Prepended to every blob key (`blobs/…`), so stores can share an engine bucket. */
  keyPrefix: string;
  crc64Pool: Crc64Pool;
}

export interface WrittenBody {
  received: ReceivedBody;
  segments: Segment[];
}

/** A fresh blob key: 128 random bits, never reused, so no PUT ever overwrites a blob. */
export function newBlobKey(keyPrefix: string): string {
  return `${keyPrefix}blobs/${randomBytes(16).toString('hex')}`;
}

function mismatch(key: string, engine: string, ours: string): Error {
  return ossError('InternalError', {
    message: `The storage engine stored different bytes than were sent (blob ${key}: ETag ${engine}, MD5 ${ours}).`,
  });
}

/**
 * Streams `body` into new blobs. Resolves once every blob is stored and verified; the caller
 * commits them (forgetting their intents in the commit) or discards them.
 * @throws EntityTooLarge | the body's own error | ServiceUnavailable | InternalError
 */
export async function writeBody(
  ctx: BlobWriterContext,
  body: Readable,
  maxSize: number | undefined,
  options: ReceiveBodyOptions = {},
): Promise<WrittenBody> {
  const segments: Segment[] = [];
  const abort = new AbortController();
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let inFlight: Promise<void> | undefined;
  /** Engine ETag of a body's only blob, checked against the whole-body MD5 once it is known. */
  let soleEtag: string | undefined;

  const take = (n: number): Buffer => {
    const all = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered, bufferedBytes);
    const piece = all.subarray(0, n);
    const rest = all.subarray(n);
    buffered = rest.length > 0 ? [rest] : [];
    bufferedBytes = rest.length;
    return piece;
  };

  /** Waits for the previous PUT, then commits the next blob's intent and starts its PUT. */
  const startPut = async (piece: Buffer, sole: boolean): Promise<void> => {
    await inFlight;
    const key = newBlobKey(ctx.keyPrefix);
    await recordIntent(ctx.pool, key, ctx.now());
    segments.push({ key, size: piece.length });
    const md5 = sole ? undefined : createHash('md5').update(piece).digest('hex');
    const put = ctx.blobs.put(key, Readable.from([piece]), piece.length, abort.signal).then(({ etag }) => {
      const engine = etag.toLowerCase();
      if (sole) soleEtag = engine;
      else if (engine !== md5) throw mismatch(key, engine, md5!);
    });
    // Rejections are seen by the next await of `inFlight`; never left unhandled meanwhile.
    put.catch(() => {});
    inFlight = put;
  };

  const sink: BodySink = {
    write(chunks, callback) {
      for (const chunk of chunks) {
        buffered.push(chunk);
        bufferedBytes += chunk.length;
      }
      if (bufferedBytes < ctx.segmentBytes) return callback();
      (async () => {
        while (bufferedBytes >= ctx.segmentBytes) await startPut(take(ctx.segmentBytes), false);
      })().then(() => callback(), callback);
    },
    finish(callback) {
      (async () => {
        // The last (or only) piece; an empty body has no blob at all.
        if (bufferedBytes > 0) await startPut(take(bufferedBytes), segments.length === 0);
        await inFlight;
      })().then(() => callback(), callback);
    },
  };

  try {
    const received = await receiveBody(body, sink, maxSize, { ...options, crc64Pool: ctx.crc64Pool });
    if (soleEtag !== undefined && soleEtag !== received.md5.toString('hex'))
      throw mismatch(segments[0]!.key, soleEtag, received.md5.toString('hex'));
    return { received, segments };
  } catch (error) {
    abort.abort();
    await inFlight?.catch(() => {});
    await discardUncommitted(
      ctx.pool,
      ctx.blobs,
      segments.map((s) => s.key),
    );
    throw error;
  }
}

/**
 * The inclusive `range` of a body made of `segments`, as one stream: sequential (ranged) GETs of
 * the segments it covers. The first GET is made before this resolves, so an engine that is down
 * fails the request (503) instead of breaking a body already being sent.
 */
export async function readSegments(
  blobs: BlobStore,
  segments: readonly Segment[],
  range: { start: number; end: number },
): Promise<Readable> {
  const pieces: { key: string; range?: { start: number; end: number } }[] = [];
  let offset = 0;
  for (const { key, size } of segments) {
    const first = offset;
    const last = offset + size - 1;
    offset += size;
    if (size === 0 || last < range.start || first > range.end) continue;
    const start = Math.max(range.start, first) - first;
    const end = Math.min(range.end, last) - first;
    pieces.push(start === 0 && end === size - 1 ? { key } : { key, range: { start, end } });
  }
  if (pieces.length === 0) return Readable.from([], { objectMode: false });
  const opened = await blobs.get(pieces[0]!.key, pieces[0]!.range);
  async function* chunks(): AsyncGenerator<Buffer> {
    let current: Readable | undefined = opened;
    try {
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) current = await blobs.get(pieces[i]!.key, pieces[i]!.range);
        for await (const chunk of current!) yield chunk as Buffer;
        current = undefined;
      }
    } finally {
      // A reader that stops early (destroys the body) releases the engine connection.
      release(current);
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Destroyed before the first read, the generator never runs its `finally`: release the first GET.
  stream.once('close', () => release(opened));
  return stream;
}

/**
 * Ends an engine response nobody reads any more. undici's body emits RequestAbortedError when it
 * is destroyed before its end (or the engine's connection broke under it); with no reader left to
 * listen, that 'error' would end the gateway's process, so it is swallowed here.
 */
function release(body: Readable | undefined): void {
  if (body === undefined) return;
  body.on('error', () => {});
  body.destroy();
}
