/**
 * The ListAllMyBucketsResult document (OSS ListBuckets / GetService): the paging arguments echoed
 * when given, the owner, and one Bucket per bucket with its location and endpoints.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { BucketInfo } from '../../store/object-store.ts';
import type { Owner } from '../pipeline/request-context.ts';
import type { BucketEndpoints } from './bucket-info.ts';
import { ossIsoDate } from './list-bucket-result.ts';

export interface ListAllMyBucketsResultInput {
  owner: Owner;
  buckets: readonly BucketInfo[];
  region: string;
  endpoints: BucketEndpoints;
  prefix?: string | undefined;
  marker?: string | undefined;
  maxKeys?: number | undefined;
  isTruncated: boolean;
  nextMarker?: string | undefined;
}

export function listAllMyBucketsResult(input: ListAllMyBucketsResultInput): string {
  const paged =
    input.prefix !== undefined ||
    input.marker !== undefined ||
    input.maxKeys !== undefined ||
    input.isTruncated;
  return renderXml(
    el(
      'ListAllMyBucketsResult',
      paged && [
        el('Prefix', input.prefix ?? ''),
        el('Marker', input.marker ?? ''),
        input.maxKeys !== undefined && el('MaxKeys', input.maxKeys),
        el('IsTruncated', String(input.isTruncated)),
        input.nextMarker !== undefined && el('NextMarker', input.nextMarker),
      ],
      el('Owner', el('ID', input.owner.id), el('DisplayName', input.owner.displayName)),
      el(
        'Buckets',
        input.buckets.map((bucket) =>
          el(
            'Bucket',
            el('CreationDate', ossIsoDate(bucket.creationDate)),
            el('ExtranetEndpoint', input.endpoints.extranet),
            el('IntranetEndpoint', input.endpoints.intranet),
            el('Location', input.region),
            el('Name', bucket.name),
            el('Region', input.region.replace(/^oss-/, '')),
            el('StorageClass', bucket.storageClass),
          ),
        ),
      ),
    ),
  );
}
