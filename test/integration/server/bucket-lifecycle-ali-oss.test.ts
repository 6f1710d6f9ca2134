/**
 * PutBucketLifecycle / GetBucketLifecycle / DeleteBucketLifecycle through ali-oss, and raw
 * documents ali-oss would refuse to send (bad XML, out-of-range values, rules upcall cannot carry
 * out), each answered with its OSS error (issue 20). The sweep that carries the rules out is
 * tested in lifecycle-sweep.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { errorCode, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  // No sweep: these tests are about the configuration only.
  server = await startTestServer({ lifecycle: false });
});
afterAll(async () => {
  await server.close();
});

describe('bucket lifecycle configuration through ali-oss', () => {
  it('puts, gets back and deletes rules as OSS writes them', async () => {
    const client = ossClient(server);
    await expect(client.getBucketLifecycle(server.bucket)).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchLifecycle',
    });
    const put = await client.putBucketLifecycle(server.bucket, [
      {
        id: 'expire tmp',
        prefix: 'tmp/',
        status: 'Enabled',
        expiration: { days: 3 },
        abortMultipartUpload: { days: 1 },
      },
      {
        id: 'scratch',
        prefix: '',
        status: 'Disabled',
        tag: [
          { key: 'kind', value: 'scratch' },
          { key: 'team', value: 'web' },
        ],
        expiration: { createdBeforeDate: '2026-01-01T00:00:00.000Z' },
      },
      {
        prefix: 'logs/',
        status: 'Enabled',
        abortMultipartUpload: { createdBeforeDate: '2025-06-01T00:00:00.000Z' },
      },
    ]);
    expect(put.res.status).toBe(200);

    const got = (await client.getBucketLifecycle(server.bucket)) as { rules: Record<string, unknown>[] };
    expect(got.rules).toHaveLength(3);
    expect(got.rules[0]).toEqual({
      id: 'expire tmp',
      prefix: 'tmp/',
      status: 'Enabled',
      expiration: { days: '3' },
      abortMultipartUpload: { days: '1' },
    });
    expect(got.rules[1]).toEqual({
      id: 'scratch',
      prefix: '',
      status: 'Disabled',
      tag: [
        { key: 'kind', value: 'scratch' },
        { key: 'team', value: 'web' },
      ],
      expiration: { createdBeforeDate: '2026-01-01T00:00:00.000Z' },
    });
    // A rule put without an ID gets a generated one (OSS PutBucketLifecycle: ID).
    expect(got.rules[2]).toMatchObject({
      prefix: 'logs/',
      status: 'Enabled',
      abortMultipartUpload: { createdBeforeDate: '2025-06-01T00:00:00.000Z' },
    });
    expect(String(got.rules[2]!['id'])).toMatch(/^\S+$/);

    // PutBucketLifecycle replaces the whole configuration.
    await client.putBucketLifecycle(server.bucket, [
      { id: 'only', prefix: 'a/', status: 'Enabled', expiration: { days: 1 } },
    ]);
    const replaced = (await client.getBucketLifecycle(server.bucket)) as { rules: { id: string }[] };
    expect(replaced.rules.map((rule) => rule.id)).toEqual(['only']);

    const deleted = await client.deleteBucketLifecycle(server.bucket);
    expect(deleted.res.status).toBe(204);
    await expect(client.getBucketLifecycle(server.bucket)).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchLifecycle',
    });
    // Deleting again is not an error.
    expect((await client.deleteBucketLifecycle(server.bucket)).res.status).toBe(204);
  });

  it('answers NoSuchBucket for a bucket that does not exist', async () => {
    const client = ossClient(server, { bucket: 'no-such-bucket' });
    await expect(
      client.putBucketLifecycle('no-such-bucket', [
        { id: 'r', prefix: '', status: 'Enabled', expiration: { days: 1 } },
      ]),
    ).rejects.toMatchObject({ status: 404, code: 'NoSuchBucket' });
    await expect(client.getBucketLifecycle('no-such-bucket')).rejects.toMatchObject({ code: 'NoSuchBucket' });
  });
});

function rule(inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration><Rule>${inner}</Rule></LifecycleConfiguration>`;
}

async function putLifecycle(body: string) {
  return signedRequest(server, {
    method: 'PUT',
    bucket: server.bucket,
    subresources: { lifecycle: '' },
    headers: { 'content-type': 'application/xml' },
    body,
  });
}

describe('bad PutBucketLifecycle documents', () => {
  const cases: [string, string, string][] = [
    ['not well-formed', '<LifecycleConfiguration><Rule>', 'MalformedXML'],
    ['another root element', '<CORSConfiguration/>', 'MalformedXML'],
    ['no rule', '<LifecycleConfiguration></LifecycleConfiguration>', 'MalformedXML'],
    [
      'a rule without Status',
      rule('<ID>a</ID><Prefix>x/</Prefix><Expiration><Days>1</Days></Expiration>'),
      'MalformedXML',
    ],
    ['an unknown Status', rule('<Status>On</Status><Expiration><Days>1</Days></Expiration>'), 'MalformedXML'],
    [
      'an unknown element',
      rule('<Status>Enabled</Status><Color>red</Color><Expiration><Days>1</Days></Expiration>'),
      'MalformedXML',
    ],
    [
      'Days and CreatedBeforeDate together',
      rule(
        '<Status>Enabled</Status><Expiration><Days>1</Days><CreatedBeforeDate>2026-01-01T00:00:00.000Z</CreatedBeforeDate></Expiration>',
      ),
      'MalformedXML',
    ],
    ['an empty Expiration', rule('<Status>Enabled</Status><Expiration></Expiration>'), 'MalformedXML'],
    ['Days 0', rule('<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'), 'InvalidArgument'],
    [
      'negative Days',
      rule('<Status>Enabled</Status><Expiration><Days>-3</Days></Expiration>'),
      'InvalidArgument',
    ],
    [
      'Days that are not a number',
      rule('<Status>Enabled</Status><AbortMultipartUpload><Days>soon</Days></AbortMultipartUpload>'),
      'InvalidArgument',
    ],
    [
      'a CreatedBeforeDate that is not midnight UTC',
      rule(
        '<Status>Enabled</Status><Expiration><CreatedBeforeDate>2026-01-01T08:00:00.000Z</CreatedBeforeDate></Expiration>',
      ),
      'InvalidArgument',
    ],
    [
      'a CreatedBeforeDate that is no date',
      rule(
        '<Status>Enabled</Status><Expiration><CreatedBeforeDate>2026-02-30T00:00:00.000Z</CreatedBeforeDate></Expiration>',
      ),
      'InvalidArgument',
    ],
    [
      'a rule with no action',
      rule('<ID>idle</ID><Prefix>x/</Prefix><Status>Enabled</Status>'),
      'InvalidArgument',
    ],
    [
      'Tag with AbortMultipartUpload',
      rule(
        '<Status>Enabled</Status><Tag><Key>k</Key><Value>v</Value></Tag><AbortMultipartUpload><Days>1</Days></AbortMultipartUpload>',
      ),
      'InvalidArgument',
    ],
    [
      'an ID over 255 bytes',
      rule(`<ID>${'i'.repeat(256)}</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`),
      'InvalidArgument',
    ],
    [
      'a repeated tag key',
      rule(
        '<Status>Enabled</Status><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag><Expiration><Days>1</Days></Expiration>',
      ),
      'InvalidTag',
    ],
    [
      'a Transition (not implemented)',
      rule('<Status>Enabled</Status><Transition><Days>30</Days><StorageClass>IA</StorageClass></Transition>'),
      'NotImplemented',
    ],
    [
      'a NoncurrentVersionExpiration (no versioning)',
      rule(
        '<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration>',
      ),
      'NotImplemented',
    ],
    [
      'an ExpiredObjectDeleteMarker (no versioning)',
      rule(
        '<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
      ),
      'NotImplemented',
    ],
  ];
  it.each(cases)('refuses %s', async (_name, body, code) => {
    const res = await putLifecycle(body);
    expect(errorCode(res), res.text).toBe(code);
    expect(res.status).toBe(code === 'NotImplemented' ? 501 : 400);
  });

  it('refuses two rules with one ID, and more than 1000 rules, naming the element', async () => {
    const twice = `<LifecycleConfiguration>${'<Rule><ID>same</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>'.repeat(2)}</LifecycleConfiguration>`;
    const duplicate = await putLifecycle(twice);
    expect(errorCode(duplicate)).toBe('InvalidArgument');
    expect(duplicate.text).toContain('<ArgumentName>ID</ArgumentName>');
    const many = Array.from(
      { length: 1001 },
      (_, i) => `<Rule><ID>r${i}</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`,
    ).join('');
    const tooMany = await putLifecycle(`<LifecycleConfiguration>${many}</LifecycleConfiguration>`);
    expect(errorCode(tooMany)).toBe('InvalidArgument');
    expect(tooMany.text).toContain('<ArgumentName>Rule</ArgumentName>');
  });

  it('keeps the configuration it had when a new one is refused', async () => {
    const ok = await putLifecycle(
      rule('<ID>kept</ID><Prefix>k/</Prefix><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>'),
    );
    expect(ok.status).toBe(200);
    expect(
      (await putLifecycle(rule('<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'))).status,
    ).toBe(400);
    const got = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      subresources: { lifecycle: '' },
    });
    expect(got.status).toBe(200);
    expect(got.text).toContain(
      '<ID>kept</ID><Prefix>k/</Prefix><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>',
    );
  });

  it('accepts 1000 rules and a date without milliseconds, stored in OSS form', async () => {
    const many = Array.from(
      { length: 1000 },
      (_, i) =>
        `<Rule><ID>r${i}</ID><Prefix>p${i}/</Prefix><Status>Enabled</Status><Expiration><CreatedBeforeDate>2026-03-01T00:00:00Z</CreatedBeforeDate></Expiration></Rule>`,
    ).join('');
    expect((await putLifecycle(`<LifecycleConfiguration>${many}</LifecycleConfiguration>`)).status).toBe(200);
    const got = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      subresources: { lifecycle: '' },
    });
    expect(got.text.match(/<Rule>/g)).toHaveLength(1000);
    expect(got.text).toContain('<CreatedBeforeDate>2026-03-01T00:00:00.000Z</CreatedBeforeDate>');
  });
});
