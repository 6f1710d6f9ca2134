/**
 * The bucket documents of GetBucketInfo (`BucketInfo`), GetBucketAcl (`AccessControlPolicy`) and
 * GetBucketLocation (`LocationConstraint`), with the fields ali-oss reads (getBucketInfo returns
 * `Bucket` as parsed, getBucketACL reads `AccessControlList.Grant` and `Owner`).
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { BucketInfo } from '../../store/object-store.ts';
import type { Owner } from '../pipeline/request-context.ts';
import { ossIsoDate } from './list-bucket-result.ts';

export interface BucketEndpoints {
  extranet: string;
  intranet: string;
}

/**
 * The endpoint the client reached, without the bucket label of a virtual-host style Host.
 * FIDELITY: OSS reports its regional endpoints (`oss-cn-hangzhou.aliyuncs.com`); upcall reports
 * the address it was reached at, for both the extranet and the intranet endpoint.
 */
export function bucketEndpoints(host: string, bucket: string | undefined): BucketEndpoints {
  const lower = host.toLowerCase();
  const endpoint =
    bucket !== undefined && lower.startsWith(`${bucket}.`) ? host.slice(bucket.length + 1) : host;
  return { extranet: endpoint, intranet: endpoint };
}

function ownerElement(owner: Owner) {
  return el('Owner', el('ID', owner.id), el('DisplayName', owner.displayName));
}

export function bucketInfoResult(input: {
  bucket: BucketInfo;
  owner: Owner;
  region: string;
  endpoints: BucketEndpoints;
}): string {
  const { bucket } = input;
  return renderXml(
    el(
      'BucketInfo',
      el(
        'Bucket',
        el('AccessMonitor', 'Disabled'),
        el('CreationDate', ossIsoDate(bucket.creationDate)),
        el('ExtranetEndpoint', input.endpoints.extranet),
        el('IntranetEndpoint', input.endpoints.intranet),
        el('Location', input.region),
        el('StorageClass', bucket.storageClass),
        el('TransferAcceleration', 'Disabled'),
        el('CrossRegionReplication', 'Disabled'),
        el('Name', bucket.name),
        ownerElement(input.owner),
        el('AccessControlList', el('Grant', bucket.acl)),
        el('DataRedundancyType', 'LRS'),
        el('Comment', ''),
        el('ServerSideEncryptionRule', el('SSEAlgorithm', 'None')),
        el('BucketPolicy', el('LogBucket', ''), el('LogPrefix', '')),
      ),
    ),
  );
}

export function accessControlPolicyResult(input: { bucket: BucketInfo; owner: Owner }): string {
  return renderXml(
    el(
      'AccessControlPolicy',
      ownerElement(input.owner),
      el('AccessControlList', el('Grant', input.bucket.acl)),
    ),
  );
}

export function locationConstraintResult(region: string): string {
  return renderXml(el('LocationConstraint', region));
}
