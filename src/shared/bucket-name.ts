/**
 * Bucket name rules (OSS "Bucket naming conventions"): 3..63 characters of lower-case letters,
 * digits and hyphens, starting and ending with a letter or digit.
 *
 * Invariant: a name that passes is also a valid DNS label, so it can be the first label of a
 * virtual-host style Host header.
 */
import { ossError } from './oss-error.ts';

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

/** @throws InvalidBucketName */
export function validateBucketName(name: string): void {
  if (!isValidBucketName(name)) throw ossError('InvalidBucketName', { details: { BucketName: name } });
}
