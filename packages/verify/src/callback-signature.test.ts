import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackStringToSign, signCallback, verifyCallbackSignature } from './callback-signature.ts';

// The real OSS callback key and three real OSS-signed callbacks (SPEC.md §1.2, §11).
const OSS_PUBLIC_KEY = createPublicKey(`-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----`);

const VECTORS = [
  {
    name: 'A: API doc example, path with query',
    target: '/index.php?id=1&index=2',
    body: 'bucket=yonghu-test',
    authorization: 'kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==',
  },
  {
    name: 'B: Cloudreve capture, JSON body',
    target: '/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH',
    body: '{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}',
    authorization: 'e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==',
  },
  {
    name: 'C: 2019 capture, form body, no query',
    target: '/api/AliYunOssCallback',
    body: 'filename=headSculpture%2Fjikang2.jpg&size=108904&mimeType=image%2Fjpeg&height=278&width=200',
    authorization: 'HHtQ8zgAo4WUCg7Iy/njrsluS+ZDmgMwIHag+vmRvIC4Ph5rxNQ3+WOfJZvzwIKQsNftEDC0PCU03hpjId3vIQ==',
  },
];

describe('callback signature', () => {
  for (const v of VECTORS) {
    it(`accepts real OSS vector ${v.name}`, () => {
      expect(verifyCallbackSignature(v.target, Buffer.from(v.body), v.authorization, OSS_PUBLIC_KEY)).toBe(
        true,
      );
    });
    it(`rejects vector ${v.name} with a trailing LF on the body`, () => {
      expect(
        verifyCallbackSignature(v.target, Buffer.from(`${v.body}\n`), v.authorization, OSS_PUBLIC_KEY),
      ).toBe(false);
    });
  }

  it('signs no "?" when the target has no query (vector C with "?" fails)', () => {
    const c = VECTORS[2]!;
    expect(
      verifyCallbackSignature(`${c.target}?`, Buffer.from(c.body), c.authorization, OSS_PUBLIC_KEY),
    ).toBe(false);
  });

  it('rejects a signature with one character changed, and garbage, without throwing', () => {
    const b = VECTORS[1]!;
    const tampered = `${b.authorization[0] === 'e' ? 'f' : 'e'}${b.authorization.slice(1)}`;
    expect(verifyCallbackSignature(b.target, Buffer.from(b.body), tampered, OSS_PUBLIC_KEY)).toBe(false);
    expect(verifyCallbackSignature(b.target, Buffer.from(b.body), 'not base64!', OSS_PUBLIC_KEY)).toBe(false);
    expect(verifyCallbackSignature(b.target, Buffer.from(b.body), '', OSS_PUBLIC_KEY)).toBe(false);
  });

  it('accepts only the canonical padded base64 of a signature', () => {
    const a = VECTORS[0]!;
    const check = (authorization: string): boolean =>
      verifyCallbackSignature(a.target, Buffer.from(a.body), authorization, OSS_PUBLIC_KEY);
    expect(check(`  ${a.authorization}\t`)).toBe(true); // surrounding whitespace is trimmed
    // Node's decoder would read each of these as the same bytes; none is what OSS sends.
    expect(check(a.authorization.replace(/\+/g, '-').replace(/\//g, '_'))).toBe(false); // base64url
    expect(check(a.authorization.replace(/=+$/, ''))).toBe(false); // unpadded
    expect(check(`${a.authorization.slice(0, 40)} ${a.authorization.slice(40)}`)).toBe(false); // inner space
    expect(check(`${a.authorization.slice(0, 40)}!!!!${a.authorization.slice(40)}`)).toBe(false); // stray bytes
    // The last character before "==" carries 2 bits of data and 4 of padding: 'A' -> 'B' sets one of
    // those padding bits, decoding to the same bytes.
    const noncanonical = a.authorization.replace(/A==$/, 'B==');
    expect(noncanonical).not.toBe(a.authorization);
    expect(check(noncanonical)).toBe(false);
  });

  it('decodes the path but not the query, and keeps "+" in the path', () => {
    const s = callbackStringToSign('/a%20b+c/%E4%B8%AD?x=%20&y=+', Buffer.from('body'));
    expect(s.toString('utf8')).toBe('/a b+c/中?x=%20&y=+\nbody');
  });

  it('round-trips with a generated key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const body = Buffer.from('{"object":"中文 key.jpg"}');
    const signature = signCallback('/cb?a=1', body, privateKey);
    expect(verifyCallbackSignature('/cb?a=1', body, signature, publicKey)).toBe(true);
    expect(verifyCallbackSignature('/cb?a=2', body, signature, publicKey)).toBe(false);
  });
});
