/**
 * The opening steps every bucket configuration body shares (PutBucketCors's `CORSConfiguration`,
 * PutBucketEncryption's `ServerSideEncryptionRule`, PutBucketLifecycle's `LifecycleConfiguration`):
 * parse the XML within the document's byte bound, take its root element, and answer MalformedXML
 * where the root is missing, repeated or text; and name a value out of range as InvalidArgument.
 * What each document holds is checked by its own module (bucket-cors.ts, server-side-encryption.ts,
 * lifecycle/lifecycle-configuration.ts); the body itself is read, with the same bound, by
 * read-xml-body.ts.
 *
 * Invariant: a body that is not the document is MalformedXML without details, whichever of the
 * three it was sent as.
 */
import { ossError } from '../shared/oss-error.ts';
import { parseXml, singleElement, type XmlObject } from '../shared/xml.ts';

export interface BucketConfigurationDocument {
  /** The root element's name, e.g. `CORSConfiguration`. */
  root: string;
  /** The largest body the document may be, in bytes. */
  maxBytes: number;
}

/** The root element of a bucket configuration body. @throws MalformedXML */
export function parseBucketConfiguration(text: string, document: BucketConfigurationDocument): XmlObject {
  return singleElement(parseXml(text, document.maxBytes)[document.root]);
}

/** A value out of range in a configuration document, naming its element. */
export function invalidArgument(name: string, value: string, message: string): never {
  throw ossError('InvalidArgument', { message, details: { ArgumentName: name, ArgumentValue: value } });
}
