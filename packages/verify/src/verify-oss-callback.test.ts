import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signCallback } from './callback-signature.ts';
import { CallbackVerificationError, type CallbackVerificationReason } from './callback-verification-error.ts';
import { createPublicKeyResolver } from './public-key-resolver.ts';
import { verifyOssCallback, type CallbackRequest } from './verify-oss-callback.ts';

// The real OSS callback key and the three real OSS-signed callbacks of SPEC.md §1.2 and §11.
const OSS_PEM = `-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----`;
const HTTPS_KEY_URL_B64 = 'aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=';

const VECTORS = {
  A: {
    target: '/index.php?id=1&index=2',
    contentType: 'application/x-www-form-urlencoded',
    body: 'bucket=yonghu-test',
    authorization: 'kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==',
  },
  B: {
    target: '/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH',
    contentType: 'application/json',
    body: '{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}',
    authorization: 'e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==',
  },
  C: {
    target: '/api/AliYunOssCallback',
    contentType: 'application/x-www-form-urlencoded',
    body: 'filename=headSculpture%2Fjikang2.jpg&size=108904&mimeType=image%2Fjpeg&height=278&width=200',
    authorization: 'HHtQ8zgAo4WUCg7Iy/njrsluS+ZDmgMwIHag+vmRvIC4Ph5rxNQ3+WOfJZvzwIKQsNftEDC0PCU03hpjId3vIQ==',
  },
} as const;

function vectorRequest(v: (typeof VECTORS)[keyof typeof VECTORS]): CallbackRequest {
  return {
    method: 'POST',
    target: v.target,
    headers: {
      authorization: v.authorization,
      'content-type': v.contentType,
      'x-oss-pub-key-url': HTTPS_KEY_URL_B64,
      'x-oss-bucket': 'deeplink',
      'x-oss-request-id': '5CF3E7821AB22D0FDB86704D',
      'x-oss-owner': '1050784833268046',
      'x-oss-requester': '1050784833268046',
      date: 'Sun, 02 Jun 2019 15:13:06 GMT',
    },
    body: Buffer.from(v.body),
  };
}

const pinned = createPublicKeyResolver({ publicKey: OSS_PEM });

async function reasonOf(promise: Promise<unknown>): Promise<CallbackVerificationReason | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    if (err instanceof CallbackVerificationError) return err.reason;
    throw err;
  }
}

describe('verifyOssCallback', () => {
  it('accepts real vector A (query string) and reads its form body', async () => {
    const v = await verifyOssCallback(vectorRequest(VECTORS.A), { resolver: pinned });
    expect(v.verified).toBe(true);
    expect(v.bucket).toBe('yonghu-test');
    expect(v.fields).toEqual({ bucket: 'yonghu-test' });
  });

  it('accepts real vector B (JSON body)', async () => {
    const v = await verifyOssCallback(vectorRequest(VECTORS.B), { resolver: pinned });
    expect(v.format).toBe('json');
    expect(v.size).toBe(114020);
    expect(v.fields.name).toBe('2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg');
  });

  it('accepts real vector C and exposes OSS headers and the key URL', async () => {
    const v = await verifyOssCallback(vectorRequest(VECTORS.C), { resolver: pinned });
    expect(v).toMatchObject({
      object: 'headSculpture/jikang2.jpg',
      size: 108904,
      mimeType: 'image/jpeg',
      imageInfo: { height: 278, width: 200 },
      bucket: 'deeplink',
      keyUrl: 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem',
      oss: {
        bucket: 'deeplink',
        requestId: '5CF3E7821AB22D0FDB86704D',
        owner: '1050784833268046',
        requester: '1050784833268046',
        date: 'Sun, 02 Jun 2019 15:13:06 GMT',
      },
    });
    expect(Buffer.from(v.rawBody).toString()).toBe(VECTORS.C.body);
  });

  it('reads headers case-insensitively and from a web Headers object', async () => {
    const req = vectorRequest(VECTORS.C);
    const upper = Object.fromEntries(Object.entries(req.headers).map(([k, val]) => [k.toUpperCase(), val]));
    await expect(verifyOssCallback({ ...req, headers: upper }, { resolver: pinned })).resolves.toMatchObject({
      verified: true,
    });
    const web = new Headers(req.headers as Record<string, string>);
    await expect(verifyOssCallback({ ...req, headers: web }, { resolver: pinned })).resolves.toMatchObject({
      verified: true,
    });
  });

  it('scans a node-style header record for mixed-case names at most once per request', async () => {
    // Real vector A without x-oss-tag and friends: several OSS header lookups miss.
    const req = vectorRequest(VECTORS.A);
    let scans = 0;
    const counted = new Proxy(req.headers as Record<string, string>, {
      ownKeys(target) {
        scans++;
        return Reflect.ownKeys(target);
      },
    });
    await expect(
      verifyOssCallback({ ...req, headers: counted }, { resolver: pinned }),
    ).resolves.toMatchObject({
      verified: true,
    });
    expect(scans).toBe(1);
  });

  describe('tampered copies of the real vectors are refused', () => {
    for (const [name, v] of Object.entries(VECTORS)) {
      it(`vector ${name}: body byte, path, query, signature`, async () => {
        const base = vectorRequest(v);
        const body = Buffer.from(v.body);
        body[body.length - 1] = body[body.length - 1]! ^ 1;
        expect(await reasonOf(verifyOssCallback({ ...base, body }, { resolver: pinned }))).toBe(
          'signature-mismatch',
        );
        expect(
          await reasonOf(verifyOssCallback({ ...base, target: `${v.target}x` }, { resolver: pinned })),
        ).toBe('signature-mismatch');
        expect(
          await reasonOf(
            verifyOssCallback({ ...base, target: `${v.target.split('?')[0]}?id=2` }, { resolver: pinned }),
          ),
        ).toBe('signature-mismatch');
        const sig = v.authorization;
        const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
        expect(
          await reasonOf(
            verifyOssCallback(
              { ...base, headers: { ...base.headers, authorization: flipped } },
              { resolver: pinned },
            ),
          ),
        ).toBe('signature-mismatch');
        const trailing = Buffer.from(`${v.body}\n`);
        expect(await reasonOf(verifyOssCallback({ ...base, body: trailing }, { resolver: pinned }))).toBe(
          'signature-mismatch',
        );
      });
    }
  });

  it('refuses non-POST, missing signature, oversize body and undecodable key URL', async () => {
    const base = vectorRequest(VECTORS.C);
    expect(await reasonOf(verifyOssCallback({ ...base, method: 'GET' }, { resolver: pinned }))).toBe(
      'method-not-allowed',
    );
    const { authorization: _a, ...unsigned } = base.headers as Record<string, string>;
    expect(await reasonOf(verifyOssCallback({ ...base, headers: unsigned }, { resolver: pinned }))).toBe(
      'missing-signature',
    );
    expect(await reasonOf(verifyOssCallback(base, { resolver: pinned, maxBodyBytes: 10 }))).toBe(
      'body-too-large',
    );
    expect(
      await reasonOf(
        verifyOssCallback(
          { ...base, headers: { ...base.headers, 'x-oss-pub-key-url': 'not base64!' } },
          { resolver: pinned },
        ),
      ),
    ).toBe('bad-key-url');
  });

  it('by default only trusts the official key host, without fetching anything else', async () => {
    const base = vectorRequest(VECTORS.C);
    const evil = Buffer.from('http://gosspublic.alicdn.com@127.0.0.1:1/key.pem').toString('base64');
    expect(
      await reasonOf(verifyOssCallback({ ...base, headers: { ...base.headers, 'x-oss-pub-key-url': evil } })),
    ).toBe('key-host-not-allowed');
    const { 'x-oss-pub-key-url': _k, ...noKey } = base.headers as Record<string, string>;
    expect(await reasonOf(verifyOssCallback({ ...base, headers: noKey }))).toBe('bad-key-url');
  });

  it('round-trips a callback signed with a generated 2048-bit key (pinned KeyObject)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const body = Buffer.from('{"object":"a/b.txt","x:user":"u1"}');
    const target = '/cb/%E4%B8%AD?x=1';
    const authorization = signCallback(target, body, privateKey);
    const v = await verifyOssCallback(
      { method: 'POST', target, headers: { authorization, 'content-type': 'application/json' }, body },
      { resolver: createPublicKeyResolver({ publicKey }) },
    );
    expect(v.vars).toEqual({ 'x:user': 'u1' });
    // A key pinned from a private key keeps only the public half.
    expect(() => createPublicKeyResolver({ publicKey: privateKey })).not.toThrow();
    expect(() => createPublicKeyResolver({ publicKey: 'garbage' })).toThrow(CallbackVerificationError);
  });
});
