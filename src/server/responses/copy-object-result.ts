/**
 * The CopyObjectResult document (OSS CopyObject): the new object's quoted ETag and LastModified
 * (ISO 8601, as OSS writes it in result documents).
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { StoredObject } from '../../store/object-store.ts';
import { isoSeconds, quoteEtag } from '../object-meta.ts';

export function copyObjectResult(object: StoredObject): string {
  return renderXml(
    el(
      'CopyObjectResult',
      el('ETag', quoteEtag(object.etag)),
      el('LastModified', isoSeconds(object.lastModified)),
    ),
  );
}
