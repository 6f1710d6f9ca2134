/**
 * A storage server on 127.0.0.1:0 with one bucket, plus a typed view of the official ali-oss
 * client pointed at it, for the multipart, PostObject and STS integration tests.
 * ali-oss ships no types; OssTestClient declares only the calls these tests make.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createServer, type UpcallServer } from '../../src/server/create-server.ts';
import type { BucketAcl, ObjectStore } from '../../src/store/object-store.ts';

export interface OssResponseInfo {
  status: number;
  headers: Record<string, string>;
  data: Buffer;
}

export interface CompletedPartRef {
  number: number;
  etag: string;
}

interface Checkpoint {
  uploadId: string;
  doneParts: CompletedPartRef[];
}

export interface OssTestClient {
  initMultipartUpload(
    name: string,
    options?: { mime?: string; meta?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<{ res: OssResponseInfo; bucket: string; name: string; uploadId: string }>;
  uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    file: string,
    start: number,
    end: number,
    options?: { headers?: Record<string, string> },
  ): Promise<{ res: OssResponseInfo; name: string; etag: string }>;
  uploadPartCopy(
    name: string,
    uploadId: string,
    partNo: number,
    range: string,
    source: { sourceKey: string; sourceBucketName: string },
    options?: { headers?: Record<string, string> },
  ): Promise<{ res: OssResponseInfo; name: string; etag: string }>;
  completeMultipartUpload(
    name: string,
    uploadId: string,
    parts: CompletedPartRef[],
    options?: { headers?: Record<string, string> },
  ): Promise<{
    res: OssResponseInfo;
    bucket: string;
    name: string;
    etag: string;
    data: Record<string, string>;
  }>;
  abortMultipartUpload(name: string, uploadId: string): Promise<{ res: OssResponseInfo }>;
  listParts(
    name: string,
    uploadId: string,
    query?: Record<string, string | number>,
  ): Promise<{
    res: OssResponseInfo;
    nextPartNumberMarker: string;
    /** ali-oss passes the XML text through: 'true' / 'false'. */
    isTruncated: string;
    parts: { PartNumber: string; ETag: string; Size: string; LastModified: string }[];
  }>;
  listUploads(query?: Record<string, string | number>): Promise<{
    res: OssResponseInfo;
    uploads: { name: string; uploadId: string; initiated: string }[];
    nextKeyMarker: string;
    nextUploadIdMarker: string;
    isTruncated: boolean;
  }>;
  multipartUpload(
    name: string,
    file: string | Buffer,
    options?: {
      partSize?: number;
      parallel?: number;
      checkpoint?: Checkpoint;
      progress?: (p: number, checkpoint: Checkpoint | null | undefined) => void | Promise<void>;
      headers?: Record<string, string>;
      mime?: string;
      /** ali-oss's upload callback option, sent on Complete (SPEC.md §8.1). */
      callback?: {
        url: string;
        body: string;
        host?: string;
        contentType?: string;
        customValue?: Record<string, string>;
      };
    },
  ): Promise<{ res: OssResponseInfo; bucket: string; name: string; etag: string; data?: unknown }>;
  multipartUploadCopy(
    name: string,
    source: { sourceKey: string; sourceBucketName: string; startOffset?: number; endOffset?: number },
    options?: { partSize?: number; parallel?: number },
  ): Promise<{ res: OssResponseInfo; bucket: string; name: string; etag: string }>;
  cancel(): void;
  /** ali-oss's signed raw request, for what its methods cannot express. */
  request(params: {
    method: string;
    object?: string;
    bucket?: string;
    subres?: Record<string, string | number | null>;
    headers?: Record<string, string>;
    content?: string | Buffer;
    successStatuses?: number[];
  }): Promise<{ res: OssResponseInfo; data: Buffer }>;
}

type OssConstructor = new (options: Record<string, unknown>) => OssTestClient;
const OSS = createRequire(import.meta.url)('ali-oss') as OssConstructor;

export const ACCESS_KEY_ID = 'multipart-test-key';
export const ACCESS_KEY_SECRET = 'multipart-test-secret';

export interface MultipartTestBed {
  server: UpcallServer;
  store: ObjectStore;
  /** The server's data directory (a fresh temp dir, removed by close()). */
  dataDir: string;
  bucket: string;
  /** An ali-oss client for `bucket` (virtual-host style: the bucket travels in the Host header). */
  client(options?: Record<string, unknown>): OssTestClient;
  close(): Promise<void>;
}

export async function createMultipartTestBed(
  bucket = 'multipart-bucket',
  acl: BucketAcl = 'private',
): Promise<MultipartTestBed> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-multipart-'));
  const server = await createServer({
    storage: { kind: 'fs', dataDir },
    credentials: { [ACCESS_KEY_ID]: ACCESS_KEY_SECRET },
    bucketsToCreate: [{ name: bucket, acl }],
    logger: pino({ level: 'silent' }),
  });
  return {
    dataDir,
    server,
    store: server.store,
    bucket,
    client: (options = {}) =>
      new OSS({
        endpoint: server.url,
        bucket,
        region: 'oss-cn-hangzhou',
        accessKeyId: ACCESS_KEY_ID,
        accessKeySecret: ACCESS_KEY_SECRET,
        timeout: 20_000,
        ...options,
      }),
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
