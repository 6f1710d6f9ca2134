/**
 * ListMultipartUploads through a real server: each `<Upload>` carries the StorageClass the upload
 * was initiated with (`x-oss-storage-class`, else the bucket's), before `<Initiated>`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ backend: 'memory' });
});
afterAll(async () => {
  await server.close();
});

async function initiate(key: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await signedRequest(server, {
    method: 'POST',
    bucket: server.bucket,
    key,
    subresources: { uploads: '' },
    headers,
  });
  expect(res.status).toBe(200);
}

describe('ListMultipartUploads <StorageClass>', () => {
  it('lists each upload with its storage class, between UploadId and Initiated', async () => {
    await initiate('ia-upload', { 'x-oss-storage-class': 'IA' });
    await initiate('default-upload');
    const res = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      subresources: { uploads: '' },
    });
    expect(res.status).toBe(200);
    const uploads = [...res.text.matchAll(/<Upload>(.*?)<\/Upload>/gs)].map((m) => m[1] ?? '');
    const byKey = new Map(uploads.map((u) => [/<Key>([^<]*)<\/Key>/.exec(u)?.[1], u]));
    expect(byKey.get('ia-upload')).toMatch(
      /<UploadId>[^<]+<\/UploadId><StorageClass>IA<\/StorageClass><Initiated>/,
    );
    expect(byKey.get('default-upload')).toMatch(/<StorageClass>Standard<\/StorageClass><Initiated>/);
  });
});
