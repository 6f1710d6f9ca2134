// A failing app server seen through every ali-oss upload call that carries a callback (SPEC.md
// §6.2–§6.3): putStream, multipartUpload and completeMultipartUpload throw CallbackFailedError
// (status 203, the §5.2 message), a presigned PUT gets 203 XML, and in every case the object is
// stored and readable. (put itself is covered in callback-ali-oss.test.ts.)
import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, pathStyleClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let client: AliOssClient;
let scratch: string;

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  sink = await startCallbackSink();
  // The app answers 400 to every callback.
  sink.reply = (_callback, res) => {
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  };
  client = ossClient(server);
  scratch = await mkdtemp(join(tmpdir(), 'upcall-cb-fail-'));
});
afterAll(async () => {
  await sink.close();
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

interface SdkError {
  name: string;
  status: number;
  code: string;
  message: string;
  requestId?: string;
  ecCode?: string;
}

async function expectCallbackFailed(call: Promise<unknown>): Promise<void> {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as SdkError | undefined;
  expect(error, 'the call should have thrown').toBeDefined();
  expect(error!.name).toBe('CallbackFailedError');
  expect(error!.status).toBe(203);
  expect(error!.code).toBe('CallbackFailed');
  expect(error!.message).toContain('Error status : 400.');
  expect(error!.requestId).toMatch(/^[0-9A-F]{24}$/);
  // ali-oss reads the error-center code from the 203 XML (SPEC.md §6.3).
  expect(error!.ecCode).toBe('0007-00000203');
}

async function readBack(key: string): Promise<string> {
  const read = await client.get(key);
  return (read.content as Buffer).toString();
}

const callback = () => ({ url: `${sink.url}/cb`, body: 'object=${object}' });

describe('a failing app server through ali-oss', () => {
  it('putStream throws CallbackFailedError; the object is stored', async () => {
    await expectCallbackFailed(
      client.putStream('fail/stream.txt', Readable.from([Buffer.from('streamed')]), { callback: callback() }),
    );
    expect(await readBack('fail/stream.txt')).toBe('streamed');
  });

  it('multipartUpload throws CallbackFailedError; the whole object is stored', async () => {
    const file = join(scratch, 'big.bin');
    const data = Buffer.alloc(250 * 1024, 7);
    await writeFile(file, data);
    await expectCallbackFailed(
      client.multipartUpload('fail/multipart.bin', file, { partSize: 100 * 1024, callback: callback() }),
    );
    const read = await client.get('fail/multipart.bin');
    expect((read.content as Buffer).equals(data)).toBe(true);
  });

  it('completeMultipartUpload throws CallbackFailedError; the upload is completed', async () => {
    const key = 'fail/complete.txt';
    const { uploadId } = await client.initMultipartUpload(key);
    const part = await client.uploadPart(key, uploadId, 1, Buffer.from('one part'), 0, 8);
    await expectCallbackFailed(
      client.completeMultipartUpload(key, uploadId, [{ number: 1, etag: part.etag }], {
        callback: callback(),
      }),
    );
    expect(await readBack(key)).toBe('one part');
  });

  it('a presigned PUT with a callback gets 203 CallbackFailed XML; the object is stored', async () => {
    const url = pathStyleClient(server).signatureUrl('fail/presigned.txt', {
      method: 'PUT',
      expires: 600,
      callback: callback(),
    });
    const response = await fetch(url, { method: 'PUT', body: Buffer.from('presigned') });
    expect(response.status).toBe(203);
    const xml = await response.text();
    expect(xml).toContain('<Code>CallbackFailed</Code>');
    expect(xml).toContain('<Message>Error status : 400.</Message>');
    expect(await readBack('fail/presigned.txt')).toBe('presigned');
  });
});
