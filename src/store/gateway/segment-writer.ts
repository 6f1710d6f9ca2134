/**
 * Receives one upload body into blobs of the S3 engine: the BodySink behind the hashing writer.
 *
 * S3 engines need a Content-Length on every PUT (RGW refuses chunked PUTs, Swift's acceptance is
 * not to be relied on). A body whose length is not declared (chunked uploads have none) is cut
 * into segments of at most `segmentBytes`, each PUT with its length:
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
 *
 * A body whose length is declared (`size`: the request's Content-Length) is not cut at all: it
 * streams straight on as one blob PUT with that length while it arrives, so nothing is buffered
 * beyond the stream's high-water marks and the engine receives it at the client's pace. Its bytes
 * are still counted: a body that ends short (or runs long) fails with IncompleteBody.
 *
 * Server-side encryption (encryption/object-cipher.ts, as the fs backend does it): with a data key
 * every blob is its segment encrypted on its own, AES-256-CTR under a fresh IV stored as the blob's
 * first BLOB_HEADER_BYTES, so a segment's size stays its plaintext size and a range over many
 * segments decrypts segment by segment from any offset. The engine's ETag is then checked against
 * the MD5 of the ciphertext sent, never the body's.
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
import { discardUncommitted, type IntentRecorder } from './blob-gc.ts';
import type { BlobStore } from './blob-store.ts';
import { BLOB_HEADER_BYTES, decipherFrom, encryptingSink } from '../encryption/object-cipher.ts';

/** One blob of an object's body, in order. */
export interface Segment {
  key: string;
  size: number;
}

export interface BlobWriterContext {
  pool: pg.Pool;
  /** Where each blob's intent is committed before its PUT (shared by the store's uploads). */
  intents: IntentRecorder;
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

/** One segment as its encrypted blob: a fresh IV, then the ciphertext (encryptingSink's format). */
function encryptPiece(piece: Buffer, dataKey: Buffer): Buffer {
  const out: Buffer[] = [];
  const sink = encryptingSink(
    {
      write: (chunks, callback) => {
        out.push(...chunks);
        callback();
      },
      finish: (callback) => callback(),
    },
    dataKey,
  );
  // The sink calls back synchronously here: the collecting sink above never waits.
  sink.write([piece], () => {});
  sink.finish(() => {});
  return Buffer.concat(out);
}

/**
 * Chunks at least this long are handed to the engine's socket as they are (writeSole): the
 * largest default socket high-water mark of the Node versions upcall runs on (64 KiB from Node 22).
 */
const UNCOPIED_CHUNK_BYTES = 64 * 1024;

/** The body did not have the length it declared. */
function incomplete(declared: number, received: number): Error {
  return ossError('IncompleteBody', {
    message: `The request body's length (${received} bytes or more) does not match its declared ${declared} bytes.`,
  });
}

/**
 * A body of declared length `size` as one blob, streamed through while it is received: the blob's
 * Content-Length is `size` (plus the IV when encrypted), so the engine needs no buffering either.
 */
async function writeSole(
  ctx: BlobWriterContext,
  body: Readable,
  size: number,
  maxSize: number | undefined,
  options: ReceiveBodyOptions,
  dataKey: Buffer | undefined,
): Promise<WrittenBody> {
  const key = newBlobKey(ctx.keyPrefix);
  await ctx.intents.record(key);
  const abort = new AbortController();
  const blobSize = dataKey === undefined ? size : size + BLOB_HEADER_BYTES;
  // Encrypted, the blob is not the body: the engine's ETag is checked against the ciphertext's MD5.
  const blobMd5 = dataKey === undefined ? undefined : createHash('md5');
  let sent = 0;
  let engineEtag: string | undefined;
  let failure: unknown;
  /**
   * The source's write callback, held until the engine's socket has taken the chunks: the source
   * may reuse a chunk once called back. A failed PUT must release it too, or the receive side hangs.
   */
  let release: ((error?: Error | null) => void) | undefined;
  // The PUT's body: the sink pushes each chunk as it is, no copy. With a high-water mark of 0 the
  // stream asks for more (`read`) only once it holds nothing and undici is flowing again, and
  // undici pauses it whenever the socket's write returns false (client-h1.js writeStream) until
  // the socket drains, i.e. until the kernel has every byte. A chunk of at least the socket's
  // high-water mark (16 KiB on Node 20, 64 KiB on 22) always makes that write return false, so
  // once `read` runs nothing holds such a chunk any more. Smaller ones may still sit in the
  // socket's queue then: those are copied (cheap; an HTTP body arrives in 64 KiB reads).
  const pipe = new Readable({
    highWaterMark: 0,
    read() {
      const callback = release;
      release = undefined;
      callback?.();
    },
  });
  const put = ctx.blobs.put(key, pipe, blobSize, abort.signal);
  put.catch((error: unknown) => {
    failure ??= error;
    const callback = release;
    release = undefined;
    callback?.(error as Error);
  });
  const raw: BodySink = {
    write(chunks, callback) {
      if (failure !== undefined) return callback(failure as Error);
      let pushed = false;
      for (const chunk of chunks) {
        if (chunk.length === 0) continue;
        sent += chunk.length;
        if (sent > blobSize) return callback(incomplete(size, sent - (blobSize - size)));
        blobMd5?.update(chunk);
        // Ciphertext is a new buffer of the encrypting sink's: never reused by anyone.
        pipe.push(dataKey !== undefined || chunk.length >= UNCOPIED_CHUNK_BYTES ? chunk : Buffer.from(chunk));
        pushed = true;
      }
      if (!pushed) return callback();
      release = callback;
    },
    finish(callback) {
      if (sent !== blobSize) return callback(incomplete(size, sent - (blobSize - size)));
      pipe.push(null);
      put
        .then(({ etag }) => {
          engineEtag = etag.toLowerCase();
          if (blobMd5 !== undefined) {
            const ours = blobMd5.digest('hex');
            if (engineEtag !== ours) throw mismatch(key, engineEtag, ours);
          }
        })
        .then(() => callback(), callback);
    },
  };
  try {
    const sink = dataKey === undefined ? raw : encryptingSink(raw, dataKey);
    const received = await receiveBody(body, sink, maxSize, {
      ...options,
      crc64Pool: ctx.crc64Pool,
      declaredSize: size,
    });
    const md5 = received.md5.toString('hex');
    if (dataKey === undefined && engineEtag !== md5) throw mismatch(key, engineEtag ?? 'none', md5);
    return { received, segments: [{ key, size }] };
  } catch (error) {
    abort.abort();
    pipe.destroy();
    await put.catch(() => {});
    await discardUncommitted(ctx.pool, ctx.blobs, [key]);
    throw error;
  }
}

/**
 * Streams `body` into new blobs (encrypted under `dataKey` when given). With `size` (the declared
 * length) and a non-empty body, one blob streamed through (writeSole); otherwise segments. Resolves once every blob is stored and verified; the caller
 * commits them (forgetting their intents in the commit) or discards them.
 * @throws EntityTooLarge | the body's own error | ServiceUnavailable | InternalError
 */
export async function writeBody(
  ctx: BlobWriterContext,
  body: Readable,
  maxSize: number | undefined,
  options: ReceiveBodyOptions = {},
  dataKey?: Buffer,
  size?: number,
): Promise<WrittenBody> {
  // An empty body has no blob at all, as on the segment path.
  if (size !== undefined && size > 0) return writeSole(ctx, body, size, maxSize, options, dataKey);
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
    await ctx.intents.record(key);
    segments.push({ key, size: piece.length });
    // Encrypted, the blob is not the body: its own MD5 is what the engine must report.
    const blob = dataKey === undefined ? piece : encryptPiece(piece, dataKey);
    const ownMd5 = sole && dataKey === undefined;
    const md5 = ownMd5 ? undefined : createHash('md5').update(blob).digest('hex');
    const put = ctx.blobs.put(key, Readable.from([blob]), blob.length, abort.signal).then(({ etag }) => {
      const engine = etag.toLowerCase();
      if (ownMd5) soleEtag = engine;
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

/** A blob's bytes read to the end: the IV of an encrypted blob (16 bytes). */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One segment's part of a read: plaintext bytes start…end (inclusive) of the blob `key`. */
interface Piece {
  key: string;
  size: number;
  start: number;
  end: number;
}

/** An open GET of a piece, and how its bytes become plaintext. */
interface OpenPiece {
  stream: Readable;
  /** Encrypted: the decipher once the IV is known; undefined while the IV is still to be read off the stream. */
  decipher?: { update(chunk: Buffer): Buffer } | undefined;
  /** Encrypted and read from the blob's start: the IV comes first on `stream`. */
  headerOnStream: boolean;
}

async function openPiece(blobs: BlobStore, piece: Piece, dataKey: Buffer | undefined): Promise<OpenPiece> {
  const { key, size, start, end } = piece;
  if (dataKey === undefined) {
    const whole = start === 0 && end === size - 1;
    return { stream: await blobs.get(key, whole ? undefined : { start, end }), headerOnStream: false };
  }
  if (start === 0) {
    // One GET: the IV, then the ciphertext of bytes 0…end.
    const whole = end === size - 1;
    const stream = await blobs.get(key, whole ? undefined : { start: 0, end: BLOB_HEADER_BYTES + end });
    return { stream, headerOnStream: true };
  }
  // From inside the blob: the IV on its own (16 bytes), then the range one header further on.
  const iv = await readAll(await blobs.get(key, { start: 0, end: BLOB_HEADER_BYTES - 1 }));
  if (iv.length !== BLOB_HEADER_BYTES) throw new Error(`The encrypted blob ${key} has no IV.`);
  const stream = await blobs.get(key, { start: BLOB_HEADER_BYTES + start, end: BLOB_HEADER_BYTES + end });
  return { stream, decipher: decipherFrom(dataKey, iv, start), headerOnStream: false };
}

/** The plaintext of an open piece. */
async function* plaintextOf(open: OpenPiece, dataKey: Buffer | undefined): AsyncGenerator<Buffer> {
  if (dataKey === undefined) {
    for await (const chunk of open.stream) yield chunk as Buffer;
    return;
  }
  let decipher = open.decipher;
  let header = open.headerOnStream ? Buffer.alloc(0) : undefined;
  for await (const raw of open.stream) {
    let chunk = raw as Buffer;
    if (decipher === undefined) {
      header = Buffer.concat([header!, chunk]);
      if (header.length < BLOB_HEADER_BYTES) continue;
      decipher = decipherFrom(dataKey, header.subarray(0, BLOB_HEADER_BYTES), 0);
      chunk = header.subarray(BLOB_HEADER_BYTES);
    }
    if (chunk.length > 0) yield decipher.update(chunk);
  }
}

/**
 * The inclusive `range` of a body made of `segments`, as one stream: sequential (ranged) GETs of
 * the segments it covers, decrypted under `dataKey` when the blobs are encrypted. The first GET is
 * made before this resolves, so an engine that is down fails the request (503) instead of breaking
 * a body already being sent.
 */
export async function readSegments(
  blobs: BlobStore,
  segments: readonly Segment[],
  range: { start: number; end: number },
  dataKey?: Buffer,
): Promise<Readable> {
  const pieces: Piece[] = [];
  let offset = 0;
  for (const { key, size } of segments) {
    const first = offset;
    const last = offset + size - 1;
    offset += size;
    if (size === 0 || last < range.start || first > range.end) continue;
    const start = Math.max(range.start, first) - first;
    const end = Math.min(range.end, last) - first;
    pieces.push({ key, size, start, end });
  }
  if (pieces.length === 0) return Readable.from([], { objectMode: false });
  const opened = await openPiece(blobs, pieces[0]!, dataKey);
  // The first bytes are read before the body is handed over: the server writes the response
  // headers with the body's first chunk, so an engine that fails between its headers and its data
  // (cut off, reset) must fail here, while the client can still get a 503, not a connection closed
  // with nothing on it ("socket hang up"; seen in the engine-outage test).
  const firstPiece = plaintextOf(opened, dataKey);
  let first: IteratorResult<Buffer>;
  try {
    first = await firstPiece.next();
  } catch (error) {
    release(opened.stream);
    throw ossError('ServiceUnavailable', {
      message: 'The storage engine failed while the object was read. Please try again.',
      cause: error,
    });
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    let current: OpenPiece | undefined = opened;
    try {
      if (first.done !== true) yield first.value;
      yield* firstPiece;
      current = undefined;
      for (let i = 1; i < pieces.length; i++) {
        current = await openPiece(blobs, pieces[i]!, dataKey);
        yield* plaintextOf(current, dataKey);
        current = undefined;
      }
    } finally {
      // A reader that stops early (destroys the body) releases the engine connection.
      release(current?.stream);
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Destroyed before the first read, the generator never runs its `finally`: release the first GET.
  stream.once('close', () => release(opened.stream));
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
