/**
 * The real OSS callback key and the three real OSS-signed callbacks of SPEC.md §1.2 and §11, as
 * request parts a test can send over a socket. The key URL header is the test's to choose: it is
 * not covered by the signature, so a local key server can serve the real PEM.
 */
export const OSS_PUBLIC_KEY_PEM = `-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
`;

export interface RealVector {
  name: 'A' | 'B' | 'C';
  target: string;
  contentType: string;
  body: string;
  authorization: string;
}

export const REAL_VECTORS: readonly RealVector[] = [
  {
    name: 'A',
    target: '/index.php?id=1&index=2',
    contentType: 'application/x-www-form-urlencoded',
    body: 'bucket=yonghu-test',
    authorization: 'kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==',
  },
  {
    name: 'B',
    target: '/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH',
    contentType: 'application/json',
    body: '{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}',
    authorization: 'e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==',
  },
  {
    name: 'C',
    target: '/api/AliYunOssCallback',
    contentType: 'application/x-www-form-urlencoded',
    body: 'filename=headSculpture%2Fjikang2.jpg&size=108904&mimeType=image%2Fjpeg&height=278&width=200',
    authorization: 'HHtQ8zgAo4WUCg7Iy/njrsluS+ZDmgMwIHag+vmRvIC4Ph5rxNQ3+WOfJZvzwIKQsNftEDC0PCU03hpjId3vIQ==',
  },
];

/** The §4 / §11 vector C headers, pointing `x-oss-pub-key-url` at `keyUrl`. */
export function vectorHeaders(vector: RealVector, keyUrl: string): Record<string, string> {
  return {
    authorization: vector.authorization,
    'content-type': vector.contentType,
    date: 'Sun, 02 Jun 2019 15:13:06 GMT',
    'user-agent': 'aliyun-oss-callback',
    'x-oss-bucket': 'deeplink',
    'x-oss-owner': '1050784833268046',
    'x-oss-requester': '1050784833268046',
    'x-oss-pub-key-url': Buffer.from(keyUrl).toString('base64'),
    'x-oss-request-id': '5CF3E7821AB22D0FDB86704D',
    'x-oss-signature-version': '1.0',
    'x-oss-tag': 'CALLBACK',
  };
}
