/**
 * DeleteMultipleObjects (`POST /?delete`): deletes up to 1000 keys named in
 * `<Delete><Quiet/><Object><Key/></Object>…</Delete>`, answering DeleteResult with one Deleted
 * per key (none with Quiet true). Deleting a missing key succeeds, as DeleteObject.
 *
 * Invariant: the whole request is checked (bucket, Content-MD5 present and matching, XML
 * well-formed, 1..1000 valid keys) before the first key is deleted, so a bad request changes
 * nothing.
 */
import { createHash } from 'node:crypto';
import { ossError } from '../../shared/oss-error.ts';
import { validateObjectKey } from '../../shared/object-key.ts';
import { childElements, childText, parseXml, type XmlValue } from '../../shared/xml.ts';
import { expectedDigests } from '../integrity.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { deleteResult } from '../responses/delete-result.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';

/** OSS: at most 1000 objects per request. */
export const MAX_DELETE_KEYS = 1000;

export const deleteMultipleObjects: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  await deps.store.getBucket(bucket);
  const { contentMd5 } = expectedDigests(ctx.headers);
  if (contentMd5 === undefined) {
    // OSS requires Content-MD5 here (EC 0016-00000606). FIDELITY: the code it answers with is
    // not documented; upcall uses InvalidDigest.
    throw ossError('InvalidDigest', {
      message: 'Missing required header for this request: Content-MD5.',
      details: { EC: '0016-00000606' },
    });
  }
  const text = await readXmlBody(ctx.body);
  const calculated = createHash('md5').update(text, 'utf8').digest('base64');
  if (calculated !== contentMd5) {
    throw ossError('BadDigest', { details: { ExpectedMD5: contentMd5, CalculatedMD5: calculated } });
  }
  const { quiet, keys } = parseDeleteDocument(text);
  for (const key of keys) await deps.store.deleteObject(bucket, key);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: deleteResult({ deleted: keys, quiet, encodingType }),
  };
};

/** @throws MalformedXML | InvalidObjectName | KeyTooLong */
export function parseDeleteDocument(text: string): { quiet: boolean; keys: string[] } {
  const root = parseXml(text)['Delete'];
  if (root === undefined || typeof root === 'string' || Array.isArray(root)) throw ossError('MalformedXML');
  const quietText = childText(root, 'Quiet');
  let quiet = false;
  if (quietText !== undefined) {
    const value = quietText.trim().toLowerCase();
    if (value !== 'true' && value !== 'false') throw ossError('MalformedXML');
    quiet = value === 'true';
  }
  const objects = childElements(root, 'Object');
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw ossError('MalformedXML');
  const keys = objects.map(objectKey);
  for (const key of keys) validateObjectKey(key);
  return { quiet, keys };
}

function objectKey(object: XmlValue): string {
  if (typeof object === 'string') throw ossError('MalformedXML');
  const key = childText(object, 'Key');
  if (key === undefined || key === '') throw ossError('MalformedXML');
  return key;
}
