/**
 * The ListBucketResult documents of ListObjects (V1: Marker / NextMarker) and ListObjectsV2
 * (StartAfter / ContinuationToken / NextContinuationToken / KeyCount), element order as OSS sends.
 *
 * Invariants: with `encoding-type=url` every key, prefix, marker, start-after and delimiter is
 * percent-encoded (continuation tokens are opaque and never are); LastModified is ISO 8601 at
 * second precision with `.000Z`, as OSS writes it; ETags are quoted.
 */
import { el, renderXml, type XmlElement } from '../../shared/xml.ts';
import type { StoredObject } from '../../store/object-store.ts';
import type { Owner } from '../pipeline/request-context.ts';
import { restoreInfo } from '../storage-class.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

interface ListPageBody {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  objects: readonly StoredObject[];
  commonPrefixes: readonly string[];
  isTruncated: boolean;
  encodingType?: EncodingType | undefined;
  /** Decides what `<RestoreInfo>` says of each object's restore. */
  now: Date;
}

export interface ListBucketResultInput extends ListPageBody {
  marker: string;
  /** Present only when truncated. */
  nextMarker?: string | undefined;
  owner: Owner;
}

export interface ListBucketResultV2Input extends ListPageBody {
  startAfter?: string | undefined;
  continuationToken?: string | undefined;
  nextContinuationToken?: string | undefined;
  /** fetch-owner=true: each Contents carries its Owner. */
  owner?: Owner | undefined;
}

/** OSS reports LastModified to the second: `2012-02-24T08:43:07.000Z`. */
export function ossIsoDate(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}

function contents(
  object: StoredObject,
  owner: Owner | undefined,
  encodingType: EncodingType | undefined,
  now: Date,
): XmlElement {
  const restore = restoreInfo(object, now);
  return el(
    'Contents',
    el('Key', encodeKey(object.key, encodingType)),
    el('LastModified', ossIsoDate(object.lastModified)),
    el('ETag', `"${object.etag}"`),
    el('Type', object.type),
    el('Size', object.size),
    el('StorageClass', object.storageClass),
    owner !== undefined && el('Owner', el('ID', owner.id), el('DisplayName', owner.displayName)),
    restore !== undefined && el('RestoreInfo', restore),
  );
}

function commonPrefixes(prefixes: readonly string[], encodingType: EncodingType | undefined): XmlElement[] {
  return prefixes.map((prefix) => el('CommonPrefixes', el('Prefix', encodeKey(prefix, encodingType))));
}

export function listBucketResult(input: ListBucketResultInput): string {
  const enc = input.encodingType;
  return renderXml(
    el(
      'ListBucketResult',
      el('Name', input.bucket),
      el('Prefix', encodeKey(input.prefix, enc)),
      el('Marker', encodeKey(input.marker, enc)),
      el('MaxKeys', input.maxKeys),
      el('Delimiter', encodeKey(input.delimiter, enc)),
      enc !== undefined && el('EncodingType', enc),
      el('IsTruncated', String(input.isTruncated)),
      input.nextMarker !== undefined && el('NextMarker', encodeKey(input.nextMarker, enc)),
      input.objects.map((object) => contents(object, input.owner, enc, input.now)),
      commonPrefixes(input.commonPrefixes, enc),
    ),
  );
}

export function listBucketResultV2(input: ListBucketResultV2Input): string {
  const enc = input.encodingType;
  return renderXml(
    el(
      'ListBucketResult',
      el('Name', input.bucket),
      el('Prefix', encodeKey(input.prefix, enc)),
      input.startAfter !== undefined && el('StartAfter', encodeKey(input.startAfter, enc)),
      input.continuationToken !== undefined && el('ContinuationToken', input.continuationToken),
      el('MaxKeys', input.maxKeys),
      el('Delimiter', encodeKey(input.delimiter, enc)),
      enc !== undefined && el('EncodingType', enc),
      el('IsTruncated', String(input.isTruncated)),
      input.nextContinuationToken !== undefined && el('NextContinuationToken', input.nextContinuationToken),
      input.objects.map((object) => contents(object, input.owner, enc, input.now)),
      commonPrefixes(input.commonPrefixes, enc),
      el('KeyCount', input.objects.length + input.commonPrefixes.length),
    ),
  );
}
