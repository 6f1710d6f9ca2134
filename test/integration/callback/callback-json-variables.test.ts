// Every SPEC.md §3.1 system variable in a JSON-mode callbackBody (§3.3), through ali-oss and a real
// server: the app receives valid JSON whose strings are quoted and escaped (unicode, quotes and
// backslashes in the key and in x: vars), size a bare number, and each value equal to what the
// client is told in the response headers (ETag, crc64, Content-MD5, request id).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let client: AliOssClient;

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  sink = await startCallbackSink();
  client = ossClient(server);
});
afterAll(async () => {
  await sink.close();
  await server.close();
});

const TEMPLATE =
  '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},"mimeType":${mimeType},' +
  '"format":${imageInfo.format},"crc64":${crc64},"contentMd5":${contentMd5},"vpcId":${vpcId},' +
  '"clientIp":${clientIp},"reqId":${reqId},"operation":${operation},"note":${x:note},"missing":${x:missing}}';

describe('JSON-mode callback bodies through ali-oss', () => {
  it('insert every system variable as JSON, matching the response headers', async () => {
    const key = '目录/a "quoted" \\ name.txt';
    const note = 'line "one"\\two 中文 ✓';
    const content = Buffer.from('{"not":"an image"}');
    const result = await client.put(key, content, {
      mime: 'text/plain',
      callback: {
        url: `${sink.url}/json?x=1`,
        body: TEMPLATE,
        contentType: 'application/json',
        customValue: { note },
      },
    });
    expect(result.res.status).toBe(200);
    const [callback] = sink.received.splice(0);
    expect(callback!.verified).toBe(true);
    expect(callback!.headers['content-type']).toBe('application/json');
    const headers = result.res.headers as Record<string, string>;
    const body = JSON.parse(callback!.body.toString('utf8')) as Record<string, unknown>;
    expect(body).toEqual({
      bucket: server.bucket,
      object: key,
      etag: headers['etag']!.replace(/"/g, ''),
      size: content.length,
      mimeType: 'text/plain',
      format: '',
      crc64: headers['x-oss-hash-crc64ecma'],
      contentMd5: headers['content-md5'],
      vpcId: '',
      clientIp: '127.0.0.1',
      reqId: headers['x-oss-request-id'],
      operation: 'PutObject',
      note,
      missing: '',
    });
    // §4 headers as the real server sends them.
    const sent = callback!.headers;
    expect(sent['x-oss-bucket']).toBe(server.bucket);
    expect(sent['x-oss-request-id']).toBe(headers['x-oss-request-id']);
    expect(sent['x-oss-owner']).toMatch(/\S/);
    expect(sent['x-oss-requester']).toBe(sent['x-oss-owner']);
    expect(sent['x-oss-signature-version']).toBe('1.0');
    expect(sent['x-oss-tag']).toBe('CALLBACK');
    expect(sent['user-agent']).toBe('aliyun-oss-callback');
    expect(sent['content-md5']).toBe(createHash('md5').update(callback!.body).digest('base64'));
    expect(new Date(String(sent['date'])).toUTCString()).toBe(sent['date']);
    expect(callback!.target).toBe('/json?x=1');
    // §3.3: "/" is not escaped as "\/".
    expect(callback!.body.toString('utf8')).toContain('"object":"目录/a');
  });
});
