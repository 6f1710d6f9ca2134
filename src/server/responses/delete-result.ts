/**
 * The DeleteResult document (OSS DeleteMultipleObjects): one Deleted/Key per requested key in
 * verbose mode, none in quiet mode (upcall never fails a single key, so quiet is an empty result).
 */
import { el, renderXml } from '../../shared/xml.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

export function deleteResult(input: {
  deleted: readonly string[];
  quiet: boolean;
  encodingType?: EncodingType | undefined;
}): string {
  const enc = input.encodingType;
  return renderXml(
    el(
      'DeleteResult',
      enc !== undefined && el('EncodingType', enc),
      !input.quiet && input.deleted.map((key) => el('Deleted', el('Key', encodeKey(key, enc)))),
    ),
  );
}
