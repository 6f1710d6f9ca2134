/**
 * The OssErrors a store throws about its own state (object-store.ts lists which method throws
 * which), built here once so every backend (fs, memory, gateway) names the same detail for each:
 * the contract suite compares them across backends.
 */
import { ossError, type OssError } from '../shared/oss-error.ts';

export function noSuchBucket(bucket: string): OssError {
  return ossError('NoSuchBucket', { details: { BucketName: bucket } });
}

export function noSuchKey(key: string): OssError {
  return ossError('NoSuchKey', { details: { Key: key } });
}

export function noSuchUpload(uploadId: string): OssError {
  return ossError('NoSuchUpload', { details: { UploadId: uploadId } });
}

export function bucketAlreadyExists(bucket: string): OssError {
  return ossError('BucketAlreadyExists', { details: { BucketName: bucket } });
}

export function bucketNotEmpty(bucket: string): OssError {
  return ossError('BucketNotEmpty', { details: { BucketName: bucket } });
}

/** An append at any position but `length`, the object's size (OSS AppendObject). */
export function positionNotEqualToLength(length: number): OssError {
  return ossError('PositionNotEqualToLength', { details: { NextAppendPosition: String(length) } });
}
