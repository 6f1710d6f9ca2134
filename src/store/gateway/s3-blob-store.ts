/**
 * BlobStore (blob-store.ts) over one bucket of an S3-compatible engine, through the thin S3 client.
 * Adds to the client what the contract promises: ETags checked present, deletes batched in
 * DeleteObjects chunks, listing across continuation pages, and every failure as an OssError.
 *
 * Error mapping: S3UnavailableError (unreachable, timed out, 5xx after the retries) →
 * ServiceUnavailable; any other engine answer → InternalError whose message names the operation,
 * status and S3 code (never the key: the client keeps keys out of its messages). The caller's own
 * failures pass through unchanged: its body stream's error, its AbortSignal's reason. A connection
 * to the engine that breaks mid-PUT is ServiceUnavailable even though undici also hands its error
 * to the body stream (s3-client.ts).
 *
 * A put that fails midway leaves nothing under the key: the request carries Content-Length, so
 * the engine discards a body that ends early (a broken stream resets the connection), and undici
 * refuses to send more bytes than declared. What an engine might still keep is an orphan under a
 * key no row names, which the garbage-collection sweep removes.
 */
import type { Readable } from 'node:stream';
import { isOssError, ossError, type OssError } from '../../shared/oss-error.ts';
import type { ByteRange } from '../object-store.ts';
import type { BlobListEntry, BlobStore, BlobWriteResult, S3Config } from './blob-store.ts';
import { DELETE_OBJECTS_MAX_KEYS, S3Client, type S3ClientOptions } from './s3-client.ts';
import { S3Error, S3UnavailableError, type S3Operation } from './s3-errors.ts';

export interface S3BlobStoreOptions extends S3ClientOptions {
  /**
   * Keys per DeleteObjects request, 1–1000 (S3's limit, the default). Swift s3api deletes one key
   * at a time inside the request (≈ 10–15 ms each), so a smaller batch keeps each request well
   * inside `requestTimeoutMs` on a loaded engine.
   */
  deleteBatchSize?: number;
}

export function createS3BlobStore(config: S3Config, options: S3BlobStoreOptions = {}): BlobStore {
  const { deleteBatchSize = DELETE_OBJECTS_MAX_KEYS, ...clientOptions } = options;
  if (
    !Number.isInteger(deleteBatchSize) ||
    deleteBatchSize < 1 ||
    deleteBatchSize > DELETE_OBJECTS_MAX_KEYS
  ) {
    throw new RangeError(`deleteBatchSize must be an integer from 1 to ${DELETE_OBJECTS_MAX_KEYS}`);
  }
  const client = new S3Client(config, clientOptions);

  return {
    async put(key, body, size, signal): Promise<BlobWriteResult> {
      const { etag } = await mapErrors(() => client.putObject(key, body, size, signal));
      return { etag: requireEtag('PutObject', etag) };
    },

    async get(key, range?: ByteRange): Promise<Readable> {
      return mapErrors(() => client.getObject(key, range));
    },

    async copy(sourceKey, targetKey): Promise<BlobWriteResult> {
      const { etag } = await mapErrors(() => client.copyObject(sourceKey, targetKey));
      return { etag: requireEtag('CopyObject', etag) };
    },

    async delete(keys): Promise<void> {
      for (let i = 0; i < keys.length; i += deleteBatchSize) {
        const chunk = keys.slice(i, i + deleteBatchSize);
        const failures = await mapErrors(() => client.deleteObjects(chunk));
        // Deleting a missing blob is success (S3 reports none; some engines say NoSuchKey).
        const failure = failures.find((f) => f.code !== 'NoSuchKey');
        if (failure !== undefined) {
          throw engineError(
            `DeleteObjects: the S3 engine could not delete ${failures.length} of ${chunk.length} blobs (${failure.code})`,
          );
        }
      }
    },

    async *list(prefix): AsyncIterable<BlobListEntry> {
      let token: string | undefined;
      do {
        const page = await mapErrors(() => client.listObjectsV2(prefix, token));
        yield* page.objects;
        token = page.nextContinuationToken;
      } while (token !== undefined);
    },

    async check(): Promise<void> {
      try {
        await client.headBucket();
      } catch (error) {
        // Readiness: a missing bucket or refused credentials also mean this gateway cannot serve.
        const reason =
          error instanceof S3Error || error instanceof S3UnavailableError
            ? error.message
            : 'unexpected error';
        throw ossError('ServiceUnavailable', {
          message: `The storage engine is not ready: ${reason}`,
          cause: error,
        });
      }
    },

    close: () => client.close(),
  };
}

/** Runs a client call and turns engine failures into OssErrors; anything else passes through. */
async function mapErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toOssError(error);
  }
}

function toOssError(error: unknown): unknown {
  if (isOssError(error)) return error;
  if (error instanceof S3UnavailableError) {
    return ossError('ServiceUnavailable', {
      message: `Storage engine unavailable: ${error.message}`,
      cause: error,
    });
  }
  if (error instanceof S3Error) return engineError(error.message, error);
  // undici's check that the body matched Content-Length (RequestContentLengthMismatchError).
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return ossError('IncompleteBody', { cause: error });
  }
  return error;
}

function engineError(detail: string, cause?: unknown): OssError {
  return ossError('InternalError', { message: `Storage engine error: ${detail}`, cause });
}

function requireEtag(operation: S3Operation, etag: string | undefined): string {
  // The caller compares it with the MD5 it streamed; an answer without one proves nothing.
  if (etag === undefined) throw engineError(`${operation}: the S3 engine answered without an ETag`);
  return etag;
}
