/**
 * Parses the `oss://bucket/key` addresses the CLI takes (the form ossutil uses).
 * Invariant: the bucket is what precedes the first `/`; everything after it, verbatim, is the key
 * (possibly empty, possibly ending in `/` as a prefix).
 */
import { InvalidArgumentError } from 'commander';
import { isValidBucketName } from '../shared/bucket-name.ts';

export interface OssUrl {
  bucket: string;
  key: string;
}

export function parseOssUrl(value: string): OssUrl {
  if (!value.startsWith('oss://')) {
    throw new InvalidArgumentError(`expected oss://bucket/key, got ${JSON.stringify(value)}`);
  }
  const rest = value.slice('oss://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (!isValidBucketName(bucket)) {
    throw new InvalidArgumentError(`${JSON.stringify(bucket)} is not a valid bucket name`);
  }
  return { bucket, key };
}

export function formatOssUrl(bucket: string, key: string): string {
  return `oss://${bucket}/${key}`;
}
