import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { s3Path, sha256Hex, signS3Request } from './s3-signer.ts';

// The worked examples of AWS's "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk" page (S3 API reference), which list the expected signatures.
const AWS_EXAMPLE = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
};
const DATE = new Date(Date.UTC(2013, 4, 24));
const HOST = 'examplebucket.s3.amazonaws.com';
const EMPTY_SHA256 = sha256Hex('');

function signatureOf(headers: Record<string, string>): string | undefined {
  return /Signature=([0-9a-f]{64})$/.exec(headers.authorization ?? '')?.[1];
}

describe('signS3Request', () => {
  it('matches AWS example GET Object (Range header signed)', () => {
    const headers = signS3Request(AWS_EXAMPLE, {
      method: 'GET',
      path: s3Path('test.txt'),
      query: [],
      headers: { host: HOST, range: 'bytes=0-9' },
      payloadHash: EMPTY_SHA256,
      date: DATE,
    });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
  });

  it('derives the signing key per day, region and secret, though it keeps the last one', () => {
    const sign = (credentials: typeof AWS_EXAMPLE, date: Date): Record<string, string> =>
      signS3Request(credentials, {
        method: 'GET',
        path: s3Path('test.txt'),
        query: [],
        headers: { host: HOST, range: 'bytes=0-9' },
        payloadHash: EMPTY_SHA256,
        date,
      });
    /** The signature derived from scratch, as the AWS page spells the algorithm out. */
    const expected = (credentials: typeof AWS_EXAMPLE, headers: Record<string, string>): string => {
      const stamp = headers['x-amz-date']!;
      const scope = `${stamp.slice(0, 8)}/${credentials.region}/s3/aws4_request`;
      const canonical = [
        'GET',
        '/test.txt',
        '',
        `host:${HOST}\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY_SHA256}\nx-amz-date:${stamp}\n`,
        'host;range;x-amz-content-sha256;x-amz-date',
        EMPTY_SHA256,
      ].join('\n');
      const toSign = ['AWS4-HMAC-SHA256', stamp, scope, createHash('sha256').update(canonical).digest('hex')];
      let key: Buffer | string = `AWS4${credentials.secretAccessKey}`;
      for (const part of [stamp.slice(0, 8), credentials.region, 's3', 'aws4_request'])
        key = createHmac('sha256', key).update(part).digest();
      return createHmac('sha256', key).update(toSign.join('\n')).digest('hex');
    };
    const nextDay = new Date(Date.UTC(2013, 4, 25, 12));
    const otherRegion = { ...AWS_EXAMPLE, region: 'eu-west-1' };
    const otherSecret = { ...AWS_EXAMPLE, secretAccessKey: 'another-secret' };
    for (const [credentials, date] of [
      [AWS_EXAMPLE, DATE],
      [AWS_EXAMPLE, nextDay],
      [otherRegion, nextDay],
      [otherSecret, nextDay],
      [AWS_EXAMPLE, nextDay],
      [AWS_EXAMPLE, DATE],
    ] as const) {
      const headers = sign(credentials, date);
      expect(signatureOf(headers)).toBe(expected(credentials, headers));
    }
    expect(signatureOf(sign(AWS_EXAMPLE, DATE))).toBe(
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('matches AWS example PUT Object (key with $, signed payload)', () => {
    const headers = signS3Request(AWS_EXAMPLE, {
      method: 'PUT',
      path: s3Path('test$file.text'),
      query: [],
      headers: {
        host: HOST,
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash: sha256Hex('Welcome to Amazon S3.'),
      date: DATE,
    });
    expect(signatureOf(headers)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('matches AWS example GET Bucket Lifecycle (sub-resource with an empty value)', () => {
    const headers = signS3Request(AWS_EXAMPLE, {
      method: 'GET',
      path: '/',
      query: [['lifecycle', '']],
      headers: { host: HOST },
      payloadHash: EMPTY_SHA256,
      date: DATE,
    });
    expect(signatureOf(headers)).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('matches AWS example GET Bucket (List Objects, query sorted)', () => {
    const headers = signS3Request(AWS_EXAMPLE, {
      method: 'GET',
      path: '/',
      query: [
        ['prefix', 'J'],
        ['max-keys', '2'],
      ],
      headers: { host: HOST },
      payloadHash: EMPTY_SHA256,
      date: DATE,
    });
    expect(signatureOf(headers)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });
});

describe('s3Path', () => {
  it('encodes each key once, keeps slashes, and encodes what encodeURIComponent leaves', () => {
    expect(s3Path('b', "a b/+%/ü!'()*~")).toBe('/b/a%20b/%2B%25/%C3%BC%21%27%28%29%2A~');
  });
});
