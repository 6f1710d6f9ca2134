// What the uploading client gets back on a real socket after a callback (SPEC.md §6), for
// PutObject, PostObject and CompleteMultipartUpload alike: 200 with the app's body byte for byte
// as application/json, or 203 CallbackFailed XML; both with the operation's usual headers (ETag,
// x-oss-hash-crc64ecma, Content-MD5 for Put/Post, x-oss-request-id, the one the callback carried).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { signedRequest, type RawResponse } from '../../helpers/raw-request.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let client: AliOssClient;
const FORM_BUCKET = 'drop-box';

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  await server.store.createBucket(FORM_BUCKET, 'public-read-write');
  sink = await startCallbackSink();
  client = ossClient(server);
});
afterAll(async () => {
  await sink.close();
  await server.close();
});

/** An app reply with odd spacing and non-ASCII text: it must reach the client unchanged. */
const APP_REPLY = Buffer.from('{ "Status" : "OK",\n  "note": "héllo ✓" }');

beforeEach(() => {
  sink.received.length = 0;
  sink.reply = (_callback, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': APP_REPLY.length });
    res.end(APP_REPLY);
  };
});

const callbackParam = (): string =>
  Buffer.from(JSON.stringify({ callbackUrl: `${sink.url}/cb`, callbackBody: 'object=${object}' })).toString(
    'base64',
  );

const md5 = (text: string): string => createHash('md5').update(text).digest('base64');

interface Upload {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  bucket: string;
  key: string;
  content: string;
}

function fromRaw(res: RawResponse, bucket: string, key: string, content: string): Upload {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(res.headers)) headers[name] = String(value);
  return { status: res.status, headers, body: res.body, bucket, key, content };
}

async function putObject(key: string): Promise<Upload> {
  const content = `put ${key}`;
  const res = await signedRequest(server, {
    method: 'PUT',
    bucket: server.bucket,
    key,
    headers: { 'content-type': 'text/plain', 'x-oss-callback': callbackParam() },
    body: content,
  });
  return fromRaw(res, server.bucket, key, content);
}

async function postObject(key: string): Promise<Upload> {
  const content = `post ${key}`;
  const form = new FormData();
  form.append('key', key);
  form.append('callback', callbackParam());
  form.append('file', new Blob([content], { type: 'text/plain' }), 'f.txt');
  const res = await fetch(`${server.url}/${FORM_BUCKET}/`, { method: 'POST', body: form });
  const headers: Record<string, string | undefined> = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  return {
    status: res.status,
    headers,
    body: Buffer.from(await res.arrayBuffer()),
    bucket: FORM_BUCKET,
    key,
    content,
  };
}

async function completeMultipart(key: string): Promise<Upload> {
  const content = `multipart ${key}`;
  const { uploadId } = await client.initMultipartUpload(key);
  const part = await client.uploadPart(key, uploadId, 1, Buffer.from(content), 0, content.length);
  const res = await signedRequest(server, {
    method: 'POST',
    bucket: server.bucket,
    key,
    subresources: { uploadId },
    headers: { 'content-type': 'application/xml', 'x-oss-callback': callbackParam() },
    body:
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>' +
      `<ETag>${part.etag}</ETag></Part></CompleteMultipartUpload>`,
  });
  return fromRaw(res, server.bucket, key, content);
}

const OPERATIONS = [
  { name: 'PutObject', upload: putObject, contentMd5: true },
  { name: 'PostObject', upload: postObject, contentMd5: true },
  { name: 'CompleteMultipartUpload', upload: completeMultipart, contentMd5: false },
] as const;

async function expectUsualHeaders(upload: Upload, contentMd5: boolean): Promise<void> {
  const { object } = await server.store.getObject(upload.bucket, upload.key);
  expect(object.size).toBe(Buffer.byteLength(upload.content));
  expect(upload.headers['etag']).toBe(`"${object.etag}"`);
  expect(upload.headers['x-oss-hash-crc64ecma']).toBe(object.crc64);
  if (contentMd5) expect(upload.headers['content-md5']).toBe(md5(upload.content));
  const requestId = upload.headers['x-oss-request-id'];
  expect(requestId).toMatch(/^[0-9A-F]{24}$/);
  // The callback the app received carries the upload's request id.
  expect(sink.received).toHaveLength(1);
  expect(sink.received[0]!.headers['x-oss-request-id']).toBe(requestId);
  expect(Number(upload.headers['content-length'])).toBe(upload.body.length);
}

describe.each(OPERATIONS)('$name with a callback, on the wire', ({ upload, contentMd5 }) => {
  it('200: the app body verbatim as application/json, plus the usual headers', async () => {
    const result = await upload(`headers/ok-${Math.random().toString(36).slice(2)}.txt`);
    expect(result.status, result.body.toString()).toBe(200);
    expect(result.body.equals(APP_REPLY)).toBe(true);
    expect(result.headers['content-type']).toBe('application/json');
    expect(sink.received[0]!.verified).toBe(true);
    await expectUsualHeaders(result, contentMd5);
  });

  it('203: CallbackFailed XML with the usual headers; the object is stored', async () => {
    sink.reply = (_callback, res) => {
      const text = '{"Status":"nope"}';
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': text.length });
      res.end(text);
    };
    const result = await upload(`headers/failed-${Math.random().toString(36).slice(2)}.txt`);
    expect(result.status).toBe(203);
    expect(result.headers['content-type']).toBe('application/xml');
    const xml = result.body.toString();
    expect(xml).toContain('<Code>CallbackFailed</Code>');
    expect(xml).toContain('<Message>Error status : 500.</Message>');
    expect(xml).toContain('<EC>0007-00000203</EC>');
    expect(xml).toContain(`<RequestId>${result.headers['x-oss-request-id']}</RequestId>`);
    await expectUsualHeaders(result, contentMd5);
  });
});
