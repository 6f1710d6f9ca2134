/**
 * The client's multipart upload of a file (SPEC.md §7.3): InitiateMultipartUpload, UploadPart × N
 * by a few part workers in parallel (each part streamed from its own file range), then
 * CompleteMultipartUpload carrying the callback, with progress summed over the parts in flight.
 *
 * Invariants: parts are numbered 1…N in file order whatever order they finish in; a failed part
 * aborts the upload, so no parts are left behind on the server, then the failure is rethrown.
 * `options.signal` (Ctrl-C in the CLI) cuts off the parts in flight, waits for every worker to
 * stop, then sends AbortMultipartUpload and rejects with UploadInterruptedError: the abort comes
 * after the last part request has ended, so no part can land on the server after it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { OssClient, PutObjectOptions } from './oss-client.ts';
import type { UploadResult } from './oss-response.ts';
import { withProgress } from './upload-progress.ts';

export interface MultipartUploadOptions extends PutObjectOptions {
  /** Bytes per part; OSS requires at least 100 KiB for all but the last part. Default 8 MiB. */
  partSize?: number | undefined;
  /** Parts in flight at once. Default 4. */
  parallel?: number | undefined;
}

/** The upload was stopped through its AbortSignal; says whether the server dropped its parts. */
export class UploadInterruptedError extends Error {
  override readonly name = 'UploadInterruptedError';
  constructor(
    readonly uploadId: string,
    /** The AbortMultipartUpload failure, when the server may still hold the parts. */
    readonly abortError: unknown,
  ) {
    super(
      abortError === undefined
        ? `upload interrupted; multipart upload ${uploadId} aborted on the server`
        : `upload interrupted; aborting multipart upload ${uploadId} failed too`,
    );
  }
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const MIN_PART_SIZE = 100 * 1024;
/** OSS allows at most 10 000 parts; a larger file gets larger parts. */
const MAX_PARTS = 10_000;

/** The upload of `filePath` through `client`; `options.contentType` is sent as given. */
export async function uploadFileInParts(
  client: OssClient,
  bucket: string,
  key: string,
  filePath: string,
  options: MultipartUploadOptions,
): Promise<UploadResult> {
  const size = (await stat(filePath)).size;
  let partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
  if (Math.ceil(size / partSize) > MAX_PARTS) partSize = Math.ceil(size / MAX_PARTS);
  const partCount = Math.max(1, Math.ceil(size / partSize));
  const uploadId = await client.initiateMultipartUpload(bucket, key, {
    ...options.headers,
    ...(options.contentType !== undefined ? { 'content-type': options.contentType } : {}),
  });

  // One controller for the whole upload: the caller's signal or the first failed part stops every
  // worker and cuts off the parts in flight.
  const stop = new AbortController();
  const onCallerAbort = (): void => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal?.aborted === true) stop.abort(options.signal.reason);

  const etags: string[] = new Array<string>(partCount);
  let loaded = 0;
  let next = 0;
  // The first part to fail is the cause; the parts cut off because of it only echo it.
  let firstFailure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < partCount && !stop.signal.aborted) {
      const index = next++;
      const start = index * partSize;
      const end = Math.min(size, start + partSize); // exclusive
      let partLoaded = 0;
      const stream = withProgress(
        createReadStream(filePath, { start, end: Math.max(start, end - 1) }),
        end - start,
        (bytes) => {
          loaded += bytes - partLoaded;
          partLoaded = bytes;
          options.onProgress?.(loaded, size);
        },
      );
      try {
        etags[index] = await client.uploadPart(
          bucket,
          key,
          uploadId,
          index + 1,
          stream,
          end - start,
          stop.signal,
        );
      } catch (error) {
        stream.destroy();
        firstFailure ??= { error };
        stop.abort(error);
        throw error;
      }
    }
  };
  try {
    const workers = Array.from({ length: Math.min(options.parallel ?? 4, partCount) }, () => worker());
    await Promise.allSettled(workers);
    if (options.signal?.aborted === true) throw options.signal.reason;
    if (firstFailure !== undefined) throw firstFailure.error;
  } catch (error) {
    let abortError: unknown;
    await client.abortMultipartUpload(bucket, key, uploadId).catch((failure: unknown) => {
      abortError = failure;
    });
    if (options.signal?.aborted === true) throw new UploadInterruptedError(uploadId, abortError);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (size === 0) options.onProgress?.(0, 0);
  return client.completeMultipartUpload(bucket, key, uploadId, etags, options.callback);
}
