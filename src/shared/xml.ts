/**
 * The only XML reader and writer of upcall. Responses are built as small element trees and
 * rendered with escaping done here and nowhere else; request documents (DeleteMultipleObjects,
 * CompleteMultipartUpload, …) are parsed with fast-xml-parser after a well-formedness check.
 *
 * Invariants: every text value a caller passes is escaped exactly once; characters XML 1.0 cannot
 * carry are written as numeric references instead of producing a broken document; a request
 * document that is not well-formed, declares a DOCTYPE (entity expansion) or exceeds the size
 * cap is MalformedXML, never a crash.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ossError } from './oss-error.ts';

export type XmlChild = string | number | XmlElement | undefined | null | false | readonly XmlChild[];

export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlChild[];
}

/** One element; `undefined`, `null` and `false` children are skipped, arrays are flattened. */
export function el(name: string, ...children: XmlChild[]): XmlElement {
  return { name, children };
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** Renders a whole document, with the XML declaration OSS sends. */
export function renderXml(root: XmlElement): string {
  const out: string[] = [XML_DECLARATION];
  renderElement(root, out);
  return out.join('');
}

function renderElement(element: XmlElement, out: string[]): void {
  out.push('<', element.name, '>');
  renderChildren(element.children, out);
  out.push('</', element.name, '>');
}

function renderChildren(children: readonly XmlChild[], out: string[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (typeof child === 'string') out.push(escapeXml(child));
    else if (typeof child === 'number') out.push(String(child));
    else if (isElement(child)) renderElement(child, out);
    else renderChildren(child, out);
  }
}

function isElement(child: XmlElement | readonly XmlChild[]): child is XmlElement {
  return !Array.isArray(child);
}

// Characters XML 1.0 allows: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/;
const ESCAPE_ALL =
  // eslint-disable-next-line no-control-regex
  /[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;

/** Escapes text for element content or attribute values. */
export function escapeXml(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPE_ALL, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        // A valid surrogate pair passes through; anything else XML 1.0 cannot carry becomes a
        // numeric reference so the document stays parseable by lenient readers (OSS clients
        // should use encoding-type=url for such keys).
        if (ch.length === 2) return ch;
        return `&#x${ch.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** The largest request document upcall reads (DeleteMultipleObjects allows 1000 keys of 1023 bytes). */
export const MAX_XML_BODY_BYTES = 2 * 1024 * 1024;

/** A parsed element: text content, or child elements by name (repeated names become arrays). */
export type XmlValue = string | XmlObject;
export interface XmlObject {
  [name: string]: XmlValue | XmlValue[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  // Keys may begin or end with spaces, so text is kept verbatim; whitespace between elements
  // lands in '#text' entries that readers ignore.
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 32,
});

/**
 * Parses a request document. Throws MalformedXML when the text is not well-formed, declares a
 * DOCTYPE, is larger than `maxBytes` or has no root element.
 */
export function parseXml(text: string, maxBytes = MAX_XML_BODY_BYTES): XmlObject {
  if (Buffer.byteLength(text) > maxBytes || /<!DOCTYPE/i.test(text) || text.trim() === '') {
    throw ossError('MalformedXML');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw ossError('MalformedXML');
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch (cause) {
    throw ossError('MalformedXML', { cause });
  }
  if (!isXmlObject(parsed)) throw ossError('MalformedXML');
  return parsed;
}

function isXmlObject(value: unknown): value is XmlObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The child elements called `name`, always as a list. */
export function childElements(parent: XmlObject, name: string): XmlValue[] {
  const value = parent[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The single element a schema position holds. `<Name></Name>` and `<Name/>` parse as empty text:
 * an element without children.
 * @throws MalformedXML (absent, repeated, or text)
 */
export function singleElement(value: XmlValue | XmlValue[] | undefined): XmlObject {
  if (value === undefined || Array.isArray(value)) throw ossError('MalformedXML');
  if (typeof value === 'string') {
    if (value.trim() !== '') throw ossError('MalformedXML');
    return {};
  }
  return value;
}

/** The text of the single child `name`, or undefined when absent; an element child is not text. */
export function childText(parent: XmlObject, name: string): string | undefined {
  const value = parent[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return undefined;
  if (typeof value === 'string') return value;
  // `<Key></Key>` and `<Key/>` parse as ''. An element with child elements is not text.
  const names = Object.keys(value).filter((n) => n !== '#text');
  if (names.length > 0) return undefined;
  const text = value['#text'];
  return typeof text === 'string' ? text : '';
}
