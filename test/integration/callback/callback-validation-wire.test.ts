// Every SPEC.md §2.3 callback validation error as the client sees it on a real socket: 400
// InvalidArgument XML with the verbatim Message, ArgumentName, ArgumentValue (the decoded JSON
// text once it decodes) and EC, for the header and the presigned-query transports, on PutObject
// and CompleteMultipartUpload, and nothing stored (or completed) afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { signedRequest, type RawResponse } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let client: AliOssClient;

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024 } });
  client = ossClient(server);
});
afterAll(async () => {
  await server.close();
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const json = (value: unknown): string => JSON.stringify(value);
const OK = { callbackUrl: 'http://127.0.0.1:9/cb', callbackBody: 'object=${object}' };

interface Row {
  name: string;
  callback?: string;
  callbackVar?: string;
  message: string;
  argumentName: string;
  /** Expected <ArgumentValue>; omitted when the value is the raw parameter itself. */
  argumentValue?: string;
  ec?: string;
}

function row(name: string, text: string, message: string, ec?: string): Row {
  return {
    name,
    callback: b64(text),
    message,
    argumentName: 'callback',
    argumentValue: text,
    ...(ec === undefined ? {} : { ec }),
  };
}

const ROWS: Row[] = [
  {
    name: 'callback over 5 KB',
    callback: b64(json({ ...OK, callbackBody: 'x'.repeat(4000) })),
    message: 'The length of callback exceed max value.',
    argumentName: 'callback',
    ec: '0007-00000001',
  },
  {
    name: 'not base64',
    callback: 'not base64!',
    message: 'The callback configuration is not base64 encoded.',
    argumentName: 'callback',
    argumentValue: 'not base64!',
    ec: '0007-00000002',
  },
  row('not JSON', 'callbackUrl=x', 'The callback configuration is not json format.', '0007-00000003'),
  row('callbackUrl missing', json({ callbackBody: 'a=b' }), 'The callback url configuration is invalid.'),
  row(
    'bad port',
    json({ ...OK, callbackUrl: 'my.com:test' }),
    'The callback url configuration is invalid.',
    '0007-00000004',
  ),
  row(
    'six URLs',
    json({ ...OK, callbackUrl: 'a.com;b.com;c.com;d.com;e.com;f.com' }),
    'The number of callback url exceed max value.',
    '0007-00000005',
  ),
  row(
    'bad callbackHost',
    json({ ...OK, callbackHost: 'a b@evil' }),
    'The callback host configuration is invalid.',
    '0007-00000009',
  ),
  row('empty body', json({ ...OK, callbackBody: '' }), 'The callback body is empty.', '0007-00000010'),
  row(
    '$(object) body',
    json({ ...OK, callbackBody: 'bucket=${bucket}&object=$(object)' }),
    'The callback body is invalid.',
    '0007-00000011',
  ),
  row(
    'body type',
    json({ ...OK, callbackBodyType: 'text/plain' }),
    'The callback body type configuration is invalid.',
    '0007-00000012',
  ),
  row(
    'SNI as a string',
    json({ ...OK, callbackSNI: 'true' }),
    'The callback sni is invalid.',
    '0007-00000014',
  ),
  {
    name: 'callback-var over 5 KB',
    callback: b64(json(OK)),
    callbackVar: b64(json({ 'x:a': 'v'.repeat(4000) })),
    message: 'The length of callback var exceed max value.',
    argumentName: 'callback-var',
    ec: '0007-00000101',
  },
  {
    name: 'callback-var not a JSON object of strings',
    callback: b64(json(OK)),
    callbackVar: b64(json({ 'x:a': { nested: true } })),
    message: 'The callback var is not expecten json.',
    argumentName: 'callback-var',
    argumentValue: json({ 'x:a': { nested: true } }),
  },
];

function parseError(res: RawResponse): Record<string, string | undefined> {
  const field = (name: string): string | undefined => {
    const raw = new RegExp(`<${name}>([^<]*)</${name}>`).exec(res.text)?.[1];
    return raw
      ?.replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  };
  return {
    Code: field('Code'),
    Message: field('Message'),
    ArgumentName: field('ArgumentName'),
    ArgumentValue: field('ArgumentValue'),
    EC: field('EC'),
  };
}

function expectRefused(res: RawResponse, r: Row): void {
  expect(res.status, res.text).toBe(400);
  const error = parseError(res);
  expect(error.Code).toBe('InvalidArgument');
  expect(error.Message).toBe(r.message);
  expect(error.ArgumentName).toBe(r.argumentName);
  if (r.argumentValue !== undefined) expect(error.ArgumentValue).toBe(r.argumentValue);
  expect(error.EC).toBe(r.ec);
}

async function expectAbsent(key: string): Promise<void> {
  await expect(server.store.getObject(server.bucket, key)).rejects.toMatchObject({ code: 'NoSuchKey' });
}

describe('callback validation on the wire (SPEC.md §2.3)', () => {
  it.each(ROWS)('PutObject, header transport: $name', async (r) => {
    const key = `wire/header-${r.name}.txt`;
    const res = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key,
      headers: {
        'content-type': 'text/plain',
        ...(r.callback === undefined ? {} : { 'x-oss-callback': r.callback }),
        ...(r.callbackVar === undefined ? {} : { 'x-oss-callback-var': r.callbackVar }),
      },
      body: 'never stored',
    });
    expectRefused(res, r);
    await expectAbsent(key);
  });

  it.each(ROWS)('PutObject, signed query transport: $name', async (r) => {
    const key = `wire/query-${r.name}.txt`;
    const res = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key,
      subresources: {
        ...(r.callback === undefined ? {} : { callback: r.callback }),
        ...(r.callbackVar === undefined ? {} : { 'callback-var': r.callbackVar }),
      },
      headers: { 'content-type': 'text/plain' },
      body: 'never stored',
    });
    expectRefused(res, r);
    await expectAbsent(key);
  });

  it('header and query together are refused, for callback and for callback-var', async () => {
    const callback = b64(json(OK));
    const both = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'wire/both.txt',
      subresources: { callback },
      headers: { 'content-type': 'text/plain', 'x-oss-callback': callback },
      body: 'never stored',
    });
    expectRefused(both, {
      name: 'both',
      message:
        'Either the callback query string parameter or the x-oss-callback header should be specified, not both.',
      argumentName: 'callback',
      ec: '0007-00000027',
    });
    const vars = b64(json({ 'x:a': 'b' }));
    const bothVars = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'wire/both-vars.txt',
      subresources: { 'callback-var': vars },
      headers: { 'content-type': 'text/plain', 'x-oss-callback': callback, 'x-oss-callback-var': vars },
      body: 'never stored',
    });
    expectRefused(bothVars, {
      name: 'both vars',
      message:
        'Either the callback-var query string parameter or the x-oss-callback-var header should be specified, not both.',
      argumentName: 'callback-var',
      ec: '0007-00000027',
    });
    await expectAbsent('wire/both.txt');
    await expectAbsent('wire/both-vars.txt');
  });

  it('CompleteMultipartUpload with a bad callback is refused and the upload stays open', async () => {
    const key = 'wire/multipart.txt';
    const { uploadId } = await client.initMultipartUpload(key);
    const part = await client.uploadPart(key, uploadId, 1, Buffer.from('only part'), 0, 9);
    const body =
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>' +
      `<ETag>${part.etag}</ETag></Part></CompleteMultipartUpload>`;
    const r = ROWS.find((candidate) => candidate.name === '$(object) body')!;
    const res = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key,
      subresources: { uploadId },
      headers: { 'content-type': 'application/xml', 'x-oss-callback': r.callback! },
      body,
    });
    expectRefused(res, r);
    await expectAbsent(key);
    // Nothing was consumed: the same upload still completes.
    const done = await client.completeMultipartUpload(key, uploadId, [{ number: 1, etag: part.etag }]);
    expect(done.res.status).toBe(200);
    expect((await server.store.getObject(server.bucket, key)).object.size).toBe(9);
  });
});
