/**
 * What a client does to everything under a prefix: delete the objects (ListObjects pages of up to
 * 1000 keys, each removed with one DeleteMultipleObjects request, OSS's own limit) and abort the
 * incomplete multipart uploads (ListMultipartUploads, then AbortMultipartUpload each).
 *
 * Both are generators that yield what they have done, batch by batch, so a caller can report
 * progress and stop early; the prefix is matched as written (`dir` also matches `dir2/…`, as
 * ossutil does; end it with `/` for one folder). Invariant: a batch is yielded only after the
 * server confirmed it.
 */
import { MAX_DELETE_KEYS, type OssClient, type UploadSummary } from './oss-client.ts';

/** Deletes every object whose key starts with `prefix` (`''`: the whole bucket); yields each batch of keys. */
export async function* deleteObjectsUnder(
  client: OssClient,
  bucket: string,
  prefix: string,
): AsyncGenerator<string[]> {
  // Each page is deleted before the next is listed; the marker still moves forward past the
  // deleted keys, so no key is listed twice.
  for await (const page of client.listAllObjects(bucket, {
    prefix: prefix === '' ? undefined : prefix,
    maxKeys: MAX_DELETE_KEYS,
  })) {
    const keys = page.objects.map((object) => object.key);
    if (keys.length === 0) continue;
    await client.deleteObjects(bucket, keys);
    yield keys;
  }
}

/** Aborts every incomplete multipart upload whose key starts with `prefix`; yields each one aborted. */
export async function* abortMultipartUploadsUnder(
  client: OssClient,
  bucket: string,
  prefix: string,
): AsyncGenerator<UploadSummary> {
  // Collected first: aborting while paging would shift the markers under the listing.
  const uploads: UploadSummary[] = [];
  for await (const page of client.listAllMultipartUploads(bucket, {
    prefix: prefix === '' ? undefined : prefix,
  })) {
    uploads.push(...page.uploads);
  }
  for (const upload of uploads) {
    await client.abortMultipartUpload(bucket, upload.key, upload.uploadId);
    yield upload;
  }
}
