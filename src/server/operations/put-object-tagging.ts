/**
 * PutObjectTagging (`PUT /key?tagging` with a `<Tagging><TagSet><Tag><Key/><Value/>…` body):
 * replaces the object's whole tag set. Last-Modified does not change (OSS PutObjectTagging).
 *
 * A body that is not that document, or a `Tag` without its `Key` or `Value`, is MalformedXML;
 * tags beyond the OSS limits are InvalidTag (object-settings.ts).
 */
import { ossError } from '../../shared/oss-error.ts';
import { childElements, childText, parseXml, singleElement } from '../../shared/xml.ts';
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
  const tagging = singleElement(parseXml(text)['Tagging']);
  const tagSet = singleElement(tagging['TagSet']);
  return childElements(tagSet, 'Tag').map((tag) => {
    const element = singleElement(tag);
    const key = childText(element, 'Key');
    const value = childText(element, 'Value');
    if (key === undefined || value === undefined) throw ossError('MalformedXML');
    return { key, value };
  });
}
