/**
 * The official ali-oss SDK pointed at a test server (SPEC.md §8.3).
 *
 * - `ossClient(server)`: endpoint `http://127.0.0.1:PORT`. For an IP endpoint ali-oss puts the
 *   bucket only in the Host header (`<bucket>.oss-cn-hangzhou.aliyuncs.com`) and the key in the
 *   path: virtual-host style, exactly what it sends to real OSS.
 * - `pathStyleClient(server)`: endpoint `http://localhost:PORT` with `sldEnable`, so the URL is
 *   `/<bucket>/<key>` with `Host: localhost:PORT`. Use it for signatureUrl/signatureUrlV4: the
 *   URL it returns names the bucket in its path, so plain `fetch` can use it.
 * - `serviceClient(server)`: no bucket (ListBuckets, PutBucket of new buckets via `useBucket`).
 *
 * ali-oss ships no types; AliOssClient lists what the tests use, with results typed loosely.
 */
import { createRequire } from 'node:module';
import type { TestServer } from './start-test-server.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- ali-oss is untyped; tests read its results. */
type Call = (...args: any[]) => Promise<any>;

export interface AliOssClient {
  put: Call;
  putStream: Call;
  append: Call;
  get: Call;
  getStream: Call;
  head: Call;
  getObjectMeta: Call;
  list: Call;
  listV2: Call;
  copy: Call;
  delete: Call;
  deleteMulti: Call;
  putBucket: Call;
  deleteBucket: Call;
  listBuckets: Call;
  getBucketInfo: Call;
  getBucketLocation: Call;
  putBucketACL: Call;
  getBucketACL: Call;
  putBucketCORS: Call;
  getBucketCORS: Call;
  deleteBucketCORS: Call;
  putBucketLifecycle: Call;
  getBucketLifecycle: Call;
  deleteBucketLifecycle: Call;
  putBucketEncryption: Call;
  getBucketEncryption: Call;
  deleteBucketEncryption: Call;
  putACL: Call;
  restore: Call;
  getACL: Call;
  putObjectTagging: Call;
  getObjectTagging: Call;
  deleteObjectTagging: Call;
  initMultipartUpload: Call;
  uploadPart: Call;
  completeMultipartUpload: Call;
  multipartUpload: Call;
  abortMultipartUpload: Call;
  listParts: Call;
  listUploads: Call;
  signatureUrl: (name: string, options?: Record<string, unknown>) => string;
  signatureUrlV4: (
    method: string,
    expires: number,
    request?: Record<string, unknown>,
    objectName?: string,
    additionalHeaders?: string[],
  ) => Promise<string>;
  useBucket: (name: string) => void;
  options: Record<string, unknown>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

type OssConstructor = new (options: Record<string, unknown>) => AliOssClient;
const OSS = createRequire(import.meta.url)('ali-oss') as OssConstructor;

export interface ClientOptions {
  bucket?: string;
  authorizationV4?: boolean;
  accessKeyId?: string;
  accessKeySecret?: string;
  stsToken?: string;
  /** Per-request timeout in ms (ali-oss default 60 s; tests want failures fast). */
  timeout?: number;
}

function baseOptions(server: TestServer, options: ClientOptions): Record<string, unknown> {
  return {
    region: server.region,
    accessKeyId: options.accessKeyId ?? server.accessKeyId,
    accessKeySecret: options.accessKeySecret ?? server.accessKeySecret,
    authorizationV4: options.authorizationV4 ?? false,
    timeout: options.timeout ?? 10_000,
    ...(options.stsToken === undefined ? {} : { stsToken: options.stsToken }),
  };
}

/** ali-oss as an app uses it: IP endpoint, bucket in Host (virtual-host style). */
export function ossClient(server: TestServer, options: ClientOptions = {}): AliOssClient {
  return new OSS({
    ...baseOptions(server, options),
    endpoint: `http://127.0.0.1:${server.port}`,
    bucket: options.bucket ?? server.bucket,
  });
}

/** Path style (`/<bucket>/<key>` on `localhost`): presigned URLs that plain fetch can follow. */
export function pathStyleClient(server: TestServer, options: ClientOptions = {}): AliOssClient {
  return new OSS({
    ...baseOptions(server, options),
    endpoint: `http://localhost:${server.port}`,
    bucket: options.bucket ?? server.bucket,
    sldEnable: true,
  });
}

/** No bucket: service-level calls (ListBuckets) on `localhost`, so no bucket label is invented. */
export function serviceClient(server: TestServer, options: ClientOptions = {}): AliOssClient {
  return new OSS({ ...baseOptions(server, options), endpoint: `http://localhost:${server.port}` });
}
