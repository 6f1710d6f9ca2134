/**
 * A bucket's lifecycle as OSS writes it (PutBucketLifecycle / GetBucketLifecycle): the
 * `LifecycleConfiguration` document read, checked and written back.
 *
 * What upcall enforces (lifecycle-sweeper.ts): `Expiration` (delete objects) and
 * `AbortMultipartUpload` (abort incomplete uploads), each after `Days` or for everything older
 * than `CreatedBeforeDate`, per rule by `Prefix` and (objects only) `Tag`, `Status` Enabled or
 * Disabled. What it does not (`Transition`, the versioning actions, `Filter`) is refused with
 * NotImplemented rather than stored and then ignored: a rule the owner believes in and nobody
 * runs would be worse than an error.
 *
 * Invariant: a configuration that parses is one the sweep can run exactly as written; the store
 * keeps it as an opaque value.
 */
import { randomUUID } from 'node:crypto';
import { ossError } from '../../shared/oss-error.ts';
import {
  childElements,
  childText,
  el,
  renderXml,
  singleElement,
  type XmlObject,
  type XmlValue,
} from '../../shared/xml.ts';
import type { BucketLifecycle, LifecycleRule, LifecycleTime, ObjectTag } from '../../store/object-store.ts';
import { invalidArgument, parseBucketConfiguration } from '../bucket-configuration-document.ts';
import { checkTags } from '../object-settings.ts';

/** OSS: a LifecycleConfiguration holds up to 1,000 rules. */
export const MAX_LIFECYCLE_RULES = 1000;
/** OSS: a rule ID is at most 255 bytes. */
const MAX_RULE_ID_BYTES = 255;
/** An object key is at most 1023 bytes, so a longer prefix could never match. */
const MAX_PREFIX_BYTES = 1023;
/** 1,000 rules of a few hundred bytes each, with room to spare. */
export const MAX_LIFECYCLE_BODY_BYTES = 1024 * 1024;

const RULE_ELEMENTS: ReadonlySet<string> = new Set([
  'ID',
  'Prefix',
  'Status',
  'Tag',
  'Expiration',
  'AbortMultipartUpload',
]);
/** OSS rule elements upcall does not carry out: refused, never silently kept. */
const UNSUPPORTED_RULE_ELEMENTS: Readonly<Record<string, string>> = {
  Transition: 'upcall does not implement lifecycle Transition (storage class conversion).',
  NoncurrentVersionTransition: 'upcall does not implement versioning, so no NoncurrentVersionTransition.',
  NoncurrentVersionExpiration: 'upcall does not implement versioning, so no NoncurrentVersionExpiration.',
  Filter: 'upcall does not implement lifecycle Filter (Not, object size); use Prefix and Tag.',
  AtimeBase: 'upcall does not implement last-access-time lifecycle rules.',
};

/**
 * Parses a PutBucketLifecycle body.
 * FIDELITY: OSS documents only InvalidArgument for PutBucketLifecycle; upcall answers MalformedXML
 * for a document that does not fit the schema (no rule, a rule without Status or with two
 * Expirations, an unknown element) and InvalidArgument, naming the element, for a value out of
 * range (Days, CreatedBeforeDate, ID, too many rules, duplicate IDs, a rule with no action, Tag
 * with AbortMultipartUpload).
 * @throws MalformedXML | InvalidArgument | InvalidTag | NotImplemented
 */
export function parseLifecycleConfiguration(text: string): BucketLifecycle {
  const root = parseBucketConfiguration(text, {
    root: 'LifecycleConfiguration',
    maxBytes: MAX_LIFECYCLE_BODY_BYTES,
  });
  onlyElements(root, new Set(['Rule']));
  const ruleElements = childElements(root, 'Rule');
  if (ruleElements.length === 0) throw ossError('MalformedXML');
  if (ruleElements.length > MAX_LIFECYCLE_RULES) {
    invalidArgument(
      'Rule',
      String(ruleElements.length),
      `A bucket has at most ${MAX_LIFECYCLE_RULES} lifecycle rules.`,
    );
  }
  const rules = ruleElements.map((value) => parseRule(singleElement(value)));
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id))
      invalidArgument('ID', rule.id, 'Rule IDs must be unique within a lifecycle configuration.');
    ids.add(rule.id);
  }
  return { rules };
}

function parseRule(rule: XmlObject): LifecycleRule {
  for (const name of Object.keys(rule)) {
    const unsupported = UNSUPPORTED_RULE_ELEMENTS[name];
    if (unsupported !== undefined) throw ossError('NotImplemented', { message: unsupported });
  }
  onlyElements(rule, RULE_ELEMENTS);
  const givenId = single(rule, 'ID');
  // OSS: "If the value of this parameter is null or not specified, OSS automatically generates a
  // unique ID for the lifecycle rule."
  const id = givenId === undefined || givenId.trim() === '' ? randomUUID() : givenId;
  if (Buffer.byteLength(id) > MAX_RULE_ID_BYTES) {
    invalidArgument('ID', id, `A rule ID is at most ${MAX_RULE_ID_BYTES} bytes.`);
  }
  const prefix = single(rule, 'Prefix') ?? '';
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) {
    invalidArgument('Prefix', prefix, `A rule prefix is at most ${MAX_PREFIX_BYTES} bytes.`);
  }
  const status = single(rule, 'Status');
  if (status !== 'Enabled' && status !== 'Disabled') throw ossError('MalformedXML');
  const tags = childElements(rule, 'Tag').map(parseTag);
  checkTags(tags);
  const expiration = action(rule, 'Expiration');
  const abortMultipartUpload = action(rule, 'AbortMultipartUpload');
  if (expiration === undefined && abortMultipartUpload === undefined) {
    invalidArgument('Rule', id, 'A lifecycle rule needs Expiration or AbortMultipartUpload.');
  }
  if (tags.length > 0 && abortMultipartUpload !== undefined) {
    // OSS (and ali-oss's own check): uploads have no tags, so a tag filter cannot select them.
    invalidArgument('Tag', id, 'Tag cannot be used with AbortMultipartUpload.');
  }
  return {
    id,
    prefix,
    status,
    tags,
    ...(expiration === undefined ? {} : { expiration }),
    ...(abortMultipartUpload === undefined ? {} : { abortMultipartUpload }),
  };
}

function parseTag(value: XmlValue): ObjectTag {
  const tag = singleElement(value);
  onlyElements(tag, new Set(['Key', 'Value']));
  const key = single(tag, 'Key');
  if (key === undefined) throw ossError('MalformedXML');
  return { key, value: single(tag, 'Value') ?? '' };
}

/** `Expiration` / `AbortMultipartUpload`: exactly one of Days and CreatedBeforeDate. */
function action(rule: XmlObject, name: string): LifecycleTime | undefined {
  const values = childElements(rule, name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw ossError('MalformedXML');
  const container = singleElement(values[0]);
  if (name === 'Expiration' && 'ExpiredObjectDeleteMarker' in container) {
    throw ossError('NotImplemented', {
      message: 'upcall does not implement versioning, so no ExpiredObjectDeleteMarker.',
    });
  }
  onlyElements(container, new Set(['Days', 'CreatedBeforeDate']));
  const days = single(container, 'Days');
  const date = single(container, 'CreatedBeforeDate');
  if ((days === undefined) === (date === undefined)) throw ossError('MalformedXML');
  if (days !== undefined) {
    // Positive integers; nine digits keep `days × day` far inside a safe integer of milliseconds.
    if (!/^[1-9]\d{0,8}$/.test(days.trim()))
      invalidArgument('Days', days, 'Days must be a positive integer.');
    return { days: Number(days.trim()) };
  }
  return { createdBeforeDate: midnightUtc(date ?? '') };
}

/**
 * OSS: "Specify the time in the ISO 8601 standard. The time must be at UTC 00:00:00", e.g.
 * `2002-10-11T00:00:00.000Z`. Stored in exactly that form.
 */
function midnightUtc(value: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T00:00:00(?:\.000)?Z$/.exec(value.trim());
  const normalized = match === null ? '' : `${match[1]}-${match[2]}-${match[3]}T00:00:00.000Z`;
  const time = Date.parse(normalized);
  if (Number.isNaN(time) || new Date(time).toISOString() !== normalized) {
    invalidArgument(
      'CreatedBeforeDate',
      value,
      'CreatedBeforeDate must be an ISO 8601 date at UTC midnight, such as 2026-01-01T00:00:00.000Z.',
    );
  }
  return normalized;
}

/** The text of a child that may appear once; a repeated child or one with elements is MalformedXML. */
function single(parent: XmlObject, name: string): string | undefined {
  const values = childElements(parent, name);
  if (values.length === 0) return undefined;
  const text = childText(parent, name);
  if (values.length > 1 || text === undefined) throw ossError('MalformedXML');
  return text;
}

function onlyElements(parent: XmlObject, allowed: ReadonlySet<string>): void {
  for (const name of Object.keys(parent)) {
    if (name !== '#text' && !allowed.has(name)) throw ossError('MalformedXML');
  }
}

function timeElements(time: LifecycleTime): ReturnType<typeof el> {
  return 'days' in time ? el('Days', time.days) : el('CreatedBeforeDate', time.createdBeforeDate);
}

/** GetBucketLifecycle's document, rules in the order they were put, elements in OSS's order. */
export function lifecycleConfigurationResult(lifecycle: BucketLifecycle): string {
  return renderXml(
    el(
      'LifecycleConfiguration',
      ...lifecycle.rules.map((rule) =>
        el(
          'Rule',
          el('ID', rule.id),
          el('Prefix', rule.prefix),
          ...rule.tags.map((tag) => el('Tag', el('Key', tag.key), el('Value', tag.value))),
          el('Status', rule.status),
          rule.expiration === undefined ? undefined : el('Expiration', timeElements(rule.expiration)),
          rule.abortMultipartUpload === undefined
            ? undefined
            : el('AbortMultipartUpload', timeElements(rule.abortMultipartUpload)),
        ),
      ),
    ),
  );
}
