/**
 * ListParts (`GET /key?uploadId=…`): the parts uploaded so far, in part-number order, paged by
 * `part-number-marker` and `max-parts` (1..1000, default 1000).
 */
import type { Operation } from '../pipeline/request-context.ts';
import { MAX_PART_NUMBER, parseIntegerArgument, uploadRefOf } from '../request-arguments.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { listPartsResult } from '../responses/list-parts-result.ts';

export const listParts: Operation = async (ctx, deps) => {
  const upload = uploadRefOf(ctx);
  const maxParts = parseIntegerArgument(ctx.query, 'max-parts', { fallback: 1000, min: 1, max: 1000 });
  const partNumberMarker = parseIntegerArgument(ctx.query, 'part-number-marker', {
    fallback: 0,
    min: 0,
    max: MAX_PART_NUMBER,
  });
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const { parts, isTruncated, storageClass } = await deps.store.multipart.listParts(
    upload,
    partNumberMarker,
    maxParts,
  );
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: listPartsResult({
      upload,
      partNumberMarker,
      maxParts,
      parts,
      isTruncated,
      encodingType,
      storageClass,
    }),
  };
};
