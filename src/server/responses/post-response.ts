/**
 * The PostResponse document OSS returns for PostObject with `success_action_status=201`:
 * Bucket, Location, Key and the quoted ETag.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { StoredObject } from '../../store/object-store.ts';

export function postResponse(object: StoredObject, location: string): string {
  return renderXml(
    el(
      'PostResponse',
      el('Bucket', object.bucket),
      el('Location', location),
      el('Key', object.key),
      el('ETag', `"${object.etag}"`),
    ),
  );
}
