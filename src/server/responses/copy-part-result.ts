/**
 * The CopyPartResult document (OSS UploadPartCopy): LastModified and the part's quoted ETag.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { PartRecord } from '../../store/object-store.ts';

export function copyPartResult(part: PartRecord): string {
  return renderXml(
    el('CopyPartResult', el('LastModified', part.lastModified.toISOString()), el('ETag', `"${part.etag}"`)),
  );
}
