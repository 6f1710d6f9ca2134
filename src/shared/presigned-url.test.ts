import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeQuery, presignV1, presignV4 } from './presigned-url.ts';
import { parseV4Timestamp } from './signature-v4.ts';

const OSS = createRequire(import.meta.url)('ali-oss') as new (
  options: Record<string, unknown>,
) => AliOssSigner;

interface AliOssSigner {
  signatureUrl(name: string, options: Record<string, unknown>): string;
  signatureUrlV4(
    method: string,
    expires: number,
    request: Record<string, unknown>,
    key: string,
    additional?: string[],
  ): Promise<string>;
}

function aliOssClient(stsToken?: string): AliOssSigner {
  return new OSS({
    accessKeyId: 'ak',
    accessKeySecret: 'sk',
    bucket: 'bkt',
    region: 'oss-cn-hangzhou',
    endpoint: 'http://localhost:9',
    cname: true,
    ...(stsToken === undefined ? {} : { stsToken }),
  });
}

function queryOf(url: string): URLSearchParams {
  return new URL(url).searchParams;
}

describe('presignV1', () => {
  it('produces the same signature as ali-oss signatureUrl for a GET with response overrides and STS', () => {
    const url: string = aliOssClient('tok/+=').signatureUrl('dir/a b.txt', {
      expires: 600,
      response: { 'content-disposition': 'attachment' },
    });
    const theirs = queryOf(url);
    const ours = presignV1({
      method: 'GET',
      bucket: 'bkt',
      key: 'dir/a b.txt',
      credentials: { accessKeyId: 'ak', accessKeySecret: 'sk', securityToken: 'tok/+=' },
      expires: Number(theirs.get('Expires')),
      subResources: { 'response-content-disposition': 'attachment' },
    });
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });

  it('matches ali-oss for a PUT URL carrying a callback, callback-var and content type', () => {
    const url: string = aliOssClient().signatureUrl('up/photo.jpg', {
      method: 'PUT',
      expires: 3600,
      'Content-Type': 'image/jpeg',
      callback: { url: 'http://127.0.0.1:9000/cb', body: 'object=${object}', customValue: { uid: '42' } },
    });
    const theirs = queryOf(url);
    const ours = presignV1({
      method: 'PUT',
      bucket: 'bkt',
      key: 'up/photo.jpg',
      credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
      expires: Number(theirs.get('Expires')),
      subResources: { callback: theirs.get('callback')!, 'callback-var': theirs.get('callback-var')! },
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });

  it('changes the signature when anything signed changes', () => {
    const base = {
      method: 'GET',
      bucket: 'bkt',
      key: 'k',
      credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
      expires: 2_000_000_000,
    };
    const sig = (input: typeof base & Record<string, unknown>) => new Map(presignV1(input)).get('Signature');
    const original = sig(base);
    expect(sig({ ...base, method: 'PUT' })).not.toBe(original);
    expect(sig({ ...base, key: 'k2' })).not.toBe(original);
    expect(sig({ ...base, expires: base.expires + 1 })).not.toBe(original);
    expect(sig({ ...base, subResources: { 'response-expires': 'x' } })).not.toBe(original);
  });
});

describe('presignV4', () => {
  it('produces exactly ali-oss signatureUrlV4 query, with STS token and additional headers', async () => {
    const client = aliOssClient('tok');
    const url: string = await client.signatureUrlV4(
      'GET',
      900,
      { headers: { host: 'localhost:9' }, queries: { 'response-content-type': 'text/plain' } },
      'dir/o b.txt',
      ['Host'],
    );
    const theirs = queryOf(url);
    const now = parseV4Timestamp(theirs.get('x-oss-date')!)!;
    const ours = presignV4({
      method: 'GET',
      bucket: 'bkt',
      key: 'dir/o b.txt',
      credentials: { accessKeyId: 'ak', accessKeySecret: 'sk', securityToken: 'tok' },
      region: 'cn-hangzhou',
      now,
      expiresInSeconds: 900,
      query: { 'response-content-type': 'text/plain' },
      headers: { host: 'localhost:9' },
      additionalHeaders: ['Host'],
    });
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });

  it('matches ali-oss for a plain PUT URL without extras', async () => {
    const url: string = await aliOssClient().signatureUrlV4('PUT', 60, {}, 'k');
    const theirs = queryOf(url);
    const ours = presignV4({
      method: 'PUT',
      bucket: 'bkt',
      key: 'k',
      credentials: { accessKeyId: 'ak', accessKeySecret: 'sk' },
      region: 'cn-hangzhou',
      now: parseV4Timestamp(theirs.get('x-oss-date')!)!,
      expiresInSeconds: 60,
    });
    expect(ours).toEqual([...theirs]);
  });
});

describe('encodeQuery', () => {
  it('RFC 3986-encodes keys and values (no + for space)', () => {
    expect(
      encodeQuery([
        ['a b', 'c+d/e!'],
        ['x', ''],
      ]),
    ).toBe('a%20b=c%2Bd%2Fe%21&x=');
    expect(new URLSearchParams(encodeQuery([['k', 'v w+/']])).get('k')).toBe('v w+/');
  });
});
