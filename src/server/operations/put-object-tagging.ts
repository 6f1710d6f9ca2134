/**
 * PutObjectTagging (`PUT /key?tagging` with a `<Tagging><TagSet><Tag><Key/><Value/>…` body):
 * replaces the object's whole tag set. Last-Modified does not change (OSS PutObjectTagging).
 *
 * A body that is not that document, or a `Tag` without its `Key` or `Value`, is MalformedXML;
 * tags beyond the OSS limits are InvalidTag (object-settings.ts).
 */
import { ossError } from '../../shared/oss-error.ts';
import { childElements, childText, parseXml, type XmlObject, type XmlValue } from '../../shared/xml.ts';
import type { ObjectTag } from '../../store/object-store.ts';
import { requireObject } from '../request-arguments.ts';
import { checkTags } from '../object-settings.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';

/** Ten tags of 128 + 256 characters, in UTF-8 and XML, fit easily in 64 KiB. */
const MAX_TAGGING_BODY_BYTES = 64 * 1024;

export const putObjectTagging: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const tags = parseTagging(await readXmlBody(ctx.body, MAX_TAGGING_BODY_BYTES));
  checkTags(tags);
  await deps.store.setObjectTags(bucket, key, tags);
  return { status: 200 };
};

/** @throws MalformedXML */
export function parseTagging(text: string): ObjectTag[] {
  const tagging = elementOf(parseXml(text)['Tagging']);
  const tagSet = elementOf(tagging['TagSet']);
  return childElements(tagSet, 'Tag').map((tag) => {
    const element = elementOf(tag);
    const key = childText(element, 'Key');
    const value = childText(element, 'Value');
    if (key === undefined || value === undefined) throw ossError('MalformedXML');
    return { key, value };
  });
}

/** The single element a schema position holds. @throws MalformedXML */
function elementOf(value: XmlValue | XmlValue[] | undefined): XmlObject {
  if (value === undefined || Array.isArray(value)) throw ossError('MalformedXML');
  // `<TagSet></TagSet>` / `<TagSet/>` parse as text: an empty set.
  if (typeof value === 'string') {
    if (value.trim() !== '') throw ossError('MalformedXML');
    return {};
  }
  return value;
}
