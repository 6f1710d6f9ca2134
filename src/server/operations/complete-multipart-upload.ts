/**
 * CompleteMultipartUpload (`POST /key?uploadId=…`): assembles the listed parts into the object and
 * forgets the upload. The body lists `<Part><PartNumber/><ETag/></Part>` in ascending order; with
 * `x-oss-complete-all: yes` and no body, every uploaded part is used instead.
 *
 * The store checks the list (InvalidPart for an unknown part or ETag mismatch, InvalidPartOrder,
 * EntityTooSmall for a non-last part under 100 KiB) and assembles without reading the object into
 * memory. A second Complete of the same upload is NoSuchUpload and leaves the object as it is.
 * With `x-oss-forbid-overwrite: true` an existing object is FileAlreadyExists (409), and the
 * upload stays.
 *
 * Flow: read the part list → store.complete → (upload callback, SPEC.md §7.3) → response. The
 * callback travels on this request (header `x-oss-callback` or query `callback`) and, when it
 * succeeds, replaces the XML body while the ETag header stays.
 */
import { ossError } from '../../shared/oss-error.ts';
import type { CompletedPart, StoredObject, UploadRef } from '../../store/object-store.ts';
import { MAX_COMPLETE_BODY_BYTES, parseCompleteMultipartUpload } from './complete-multipart-upload-body.ts';
import { forbidsOverwrite } from '../forbid-overwrite.ts';
import { objectLocation, uploadRefOf } from '../request-arguments.ts';
import { quoteEtag } from '../object-meta.ts';
import { readXmlBody } from '../read-xml-body.ts';
import { header, type OssResponse, type Operation, type ServerDeps } from '../pipeline/request-context.ts';
import { completeMultipartUploadResult } from '../responses/complete-multipart-upload-result.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { uploadCallbackFromRequest } from '../callback/upload-callback.ts';
import { encryptionHeaders } from '../server-side-encryption.ts';

export const completeMultipartUpload: Operation = async (ctx, deps) => {
  const upload = uploadRefOf(ctx);
  // §12.2: a bad callback parameter is refused before the upload is completed.
  const callback = await uploadCallbackFromRequest(ctx, deps, 'CompleteMultipartUpload');
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const completeAll = header(ctx, 'x-oss-complete-all')?.trim().toLowerCase() === 'yes';
  const forbidOverwrite = forbidsOverwrite(ctx);
  const text = await readXmlBody(ctx.body, MAX_COMPLETE_BODY_BYTES);
  let parts: CompletedPart[];
  if (completeAll) {
    if (text.trim() !== '') {
      throw ossError('InvalidArgument', {
        message: 'Should not specify the part list in the body when x-oss-complete-all is yes.',
        details: { ArgumentName: 'x-oss-complete-all', ArgumentValue: 'yes' },
      });
    }
    parts = await allUploadedParts(upload, deps);
  } else {
    parts = parseCompleteMultipartUpload(text);
  }

  // x-oss-forbid-overwrite: checked by the store as it commits; a refusal leaves the upload as it is.
  const object = await deps.store.multipart.complete(upload, parts, { forbidOverwrite });

  // The object is stored. The upload callback (SPEC.md §7.3) runs here, between storing and
  // answering; on success its JSON reply replaces the XML body below.
  const response = completedResponse(object, objectLocation(ctx, upload.bucket, upload.key), encodingType);
  return callback === undefined ? response : callback.answer(object, response);
};

function completedResponse(
  object: StoredObject,
  location: string,
  encodingType: ReturnType<typeof parseEncodingType>,
): OssResponse {
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/xml',
      ETag: quoteEtag(object.etag),
      'x-oss-hash-crc64ecma': object.crc64,
      ...encryptionHeaders(object),
    },
    body: completeMultipartUploadResult({ object, location, encodingType }),
  };
}

/** Every part uploaded so far, in part-number order (`x-oss-complete-all: yes`). */
async function allUploadedParts(upload: UploadRef, deps: ServerDeps): Promise<CompletedPart[]> {
  const parts: CompletedPart[] = [];
  let after = 0;
  for (;;) {
    const page = await deps.store.multipart.listParts(upload, after, 1000);
    for (const part of page.parts) parts.push({ partNumber: part.partNumber, etag: part.etag });
    const last = page.parts.at(-1);
    if (!page.isTruncated || last === undefined) break;
    after = last.partNumber;
  }
  // FIDELITY: OSS documents no code for completing an upload that has no parts; upcall answers
  // InvalidPart, as for a list naming parts that do not exist.
  if (parts.length === 0) throw ossError('InvalidPart', { details: { UploadId: upload.uploadId } });
  return parts;
}
