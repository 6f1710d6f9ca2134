import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCallbackRequests, createCallbackRequestBuilder } from './build-callback-request.ts';
import { callbackStringToSign } from './callback-signature.ts';
import { parseCallback } from './parse-callback.ts';
import type { UploadFacts } from './render-callback-body.ts';

const FACTS: UploadFacts = {
  bucket: 'deeplink',
  object: 'headSculpture/jikang2.jpg',
  etag: 'D8E8FCA2DC0F896FD7CB4CB0031BA249',
  size: 108904,
  mimeType: 'image/jpeg',
  imageInfo: { width: 200, height: 278, format: 'jpg' },
  crc64: '1',
  clientIp: '10.0.0.1',
  reqId: '5CF3E7821AB22D0FDB86704D',
  operation: 'PutObject',
};

const CONTEXT = {
  date: new Date(Date.UTC(2019, 5, 2, 15, 13, 6)),
  requestId: '5CF3E7821AB22D0FDB86704D',
  keyUrl: 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem',
  owner: '1050784833268046',
};

const header = (json: object): string => Buffer.from(JSON.stringify(json)).toString('base64');

describe('buildCallbackRequests', () => {
  it('leaves x-oss-pub-key-url out for an unsigned callback (no key URL given)', () => {
    const spec = parseCallback({
      header: header({ callbackUrl: 'http://app.example.com/cb', callbackBody: 'o=${object}' }),
    })!;
    const { keyUrl: _keyUrl, ...unsigned } = CONTEXT;
    const [request] = buildCallbackRequests(spec, FACTS, unsigned);
    expect(request!.headers).not.toHaveProperty('x-oss-pub-key-url');
    expect(request!.headers['x-oss-signature-version']).toBe('1.0');
    expect(request!.body.toString()).toBe('o=headSculpture%2Fjikang2.jpg');
  });

  it('reproduces the headers, body and string-to-sign of the real 2019 capture (SPEC §11 C)', () => {
    const spec = parseCallback({
      header: header({
        callbackUrl: 'http://deeplink.example.com/api/AliYunOssCallback',
        callbackBody:
          'filename=${object}&size=${size}&mimeType=${mimeType}&height=${imageInfo.height}&width=${imageInfo.width}',
      }),
    })!;
    const [request] = buildCallbackRequests(spec, FACTS, CONTEXT);
    expect(request!.target).toBe('/api/AliYunOssCallback');
    expect(request!.headers).toEqual({
      host: 'deeplink.example.com',
      'content-length': '91',
      'content-md5': 'G5H/anNzgdvMS2AsvXpi6A==',
      'content-type': 'application/x-www-form-urlencoded',
      date: 'Sun, 02 Jun 2019 15:13:06 GMT',
      'user-agent': 'aliyun-oss-callback',
      'x-oss-additional-headers': '',
      'x-oss-bucket': 'deeplink',
      'x-oss-owner': '1050784833268046',
      'x-oss-pub-key-url': 'aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=',
      'x-oss-request-id': '5CF3E7821AB22D0FDB86704D',
      'x-oss-requester': '1050784833268046',
      'x-oss-signature-version': '1.0',
      'x-oss-tag': 'CALLBACK',
    });
    // The real signature of this capture verifies over what we built (SPEC §11 C).
    const ossKey = createPublicKey(`-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----`);
    const signature = Buffer.from(
      'HHtQ8zgAo4WUCg7Iy/njrsluS+ZDmgMwIHag+vmRvIC4Ph5rxNQ3+WOfJZvzwIKQsNftEDC0PCU03hpjId3vIQ==',
      'base64',
    );
    expect(verify('md5', callbackStringToSign(request!.target, request!.body), ossKey, signature)).toBe(true);
  });

  it('builds one request per URL with its own target, Host with a non-default port, or callbackHost', () => {
    const spec = parseCallback({
      header: header({
        callbackUrl: 'http://127.0.0.1:8080/a%20b?x=1&y=%2F;https://app.example.com/;app.example.com:80/p',
        callbackBody: '{"b":${bucket}}',
        callbackBodyType: 'application/json',
      }),
    })!;
    const requests = buildCallbackRequests(spec, FACTS, { ...CONTEXT, requester: '42' });
    expect(requests.map((r) => [r.target, r.headers['host']])).toEqual([
      ['/a%20b?x=1&y=%2F', '127.0.0.1:8080'],
      ['/', 'app.example.com'],
      ['/p', 'app.example.com'],
    ]);
    const body = Buffer.from('{"b":"deeplink"}');
    for (const r of requests) {
      expect(r.body).toEqual(body);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['content-md5']).toBe(createHash('md5').update(body).digest('base64'));
      expect(r.headers['x-oss-requester']).toBe('42');
    }
    const withHost = parseCallback({
      header: header({ callbackUrl: 'http://127.0.0.1:8080/', callbackHost: 'app.test', callbackBody: 'a' }),
    })!;
    expect(buildCallbackRequests(withHost, FACTS, CONTEXT)[0]!.headers['host']).toBe('app.test');
  });

  it('counts Content-Length in UTF-8 bytes', () => {
    const spec = parseCallback({
      header: header({ callbackUrl: 'a.b', callbackBody: '中=${x:v}' }),
      varHeader: header({ 'x:v': 'é' }),
    })!;
    const [request] = buildCallbackRequests(spec, FACTS, CONTEXT);
    expect(request!.body.toString()).toBe('中=%C3%A9');
    expect(request!.headers['content-length']).toBe(String(Buffer.byteLength('中=%C3%A9')));
  });
});

describe('createCallbackRequestBuilder', () => {
  it('builds what buildCallbackRequests builds, call after call, whatever it has kept', () => {
    const build = createCallbackRequestBuilder();
    const specs = [
      { callbackUrl: 'http://app.example.com/cb', callbackBody: 'o=${object}&s=${size}' },
      {
        callbackUrl: 'http://app.example.com:8080/json?x=1',
        callbackBody: '{"o":${object},"s":${size}}',
        callbackBodyType: 'application/json',
      },
      { callbackUrl: 'http://app.example.com/cb', callbackBody: 'o=${object}&s=${size}' },
    ].map((json) => parseCallback({ header: header(json) })!);
    const contexts = [
      CONTEXT,
      { ...CONTEXT, date: new Date(CONTEXT.date.getTime() + 400) }, // same second
      { ...CONTEXT, date: new Date(CONTEXT.date.getTime() + 1000), keyUrl: 'http://127.0.0.1:9/k.pem' },
      { ...CONTEXT, date: new Date(CONTEXT.date.getTime() - 86_400_000) },
    ];
    for (const context of contexts) {
      for (const spec of specs) {
        for (const facts of [FACTS, { ...FACTS, object: 'other key.txt', size: 7 }]) {
          expect(build(spec, facts, context)).toEqual(buildCallbackRequests(spec, facts, context));
        }
      }
    }
  });
});
