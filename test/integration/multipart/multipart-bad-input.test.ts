/**
 * Bad multipart requests, each sent signed through ali-oss's raw `request` against a real server:
 * every row gets the OSS error code and status, the server keeps serving, and the upload (or the
 * object) is left as it was.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import {
  createMultipartTestBed,
  type MultipartTestBed,
  type OssTestClient,
} from '../../helpers/multipart-test-bed.ts';

const KEY = 'bad/input.bin';
const SMALL = Buffer.from('tiny part');
const BIG = Buffer.alloc(100 * 1024, 0x61);

let bed: MultipartTestBed;
let client: OssTestClient;
let uploadId: string;
let smallEtag: string;
let bigEtag: string;

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}

function completeXml(parts: { number: number; etag: string }[]): string {
  const body = parts
    .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>"${p.etag}"</ETag></Part>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>${body}</CompleteMultipartUpload>`;
}

beforeAll(async () => {
  bed = await createMultipartTestBed('bad-input-bucket');
  client = bed.client();
  uploadId = (await client.initMultipartUpload(KEY)).uploadId;
  await putPart(1, SMALL);
  await putPart(2, BIG);
  smallEtag = md5Hex(SMALL);
  bigEtag = md5Hex(BIG);
  await bed.store.putObject(bed.bucket, 'bad/source.bin', Readable.from([BIG]), {
    meta: { contentType: 'application/octet-stream', userMeta: {} },
  });
});

afterAll(async () => {
  await bed.close();
});

/** ali-oss's signed raw request; `bucket` must be given for the Host to name it. */
function raw(params: Parameters<OssTestClient['request']>[0]) {
  return client.request({ bucket: bed.bucket, ...params });
}

function putPart(partNumber: number, body: Buffer, headers: Record<string, string> = {}) {
  return raw({
    method: 'PUT',
    object: KEY,
    subres: { partNumber, uploadId },
    headers,
    content: body,
    successStatuses: [200],
  });
}

interface Row {
  name: string;
  send: () => Promise<unknown>;
  code: string;
  status: number;
}

const rows: Row[] = [
  {
    name: 'Complete with an ETag that does not match the part',
    send: () => complete(completeXml([{ number: 1, etag: bigEtag }])),
    code: 'InvalidPart',
    status: 400,
  },
  {
    name: 'Complete naming a part that was never uploaded',
    send: () => complete(completeXml([{ number: 7, etag: smallEtag }])),
    code: 'InvalidPart',
    status: 400,
  },
  {
    name: 'Complete with parts out of order',
    send: () =>
      complete(
        completeXml([
          { number: 2, etag: bigEtag },
          { number: 1, etag: smallEtag },
        ]),
      ),
    code: 'InvalidPartOrder',
    status: 400,
  },
  {
    name: 'Complete with a non-last part under 100 KiB',
    send: () =>
      complete(
        completeXml([
          { number: 1, etag: smallEtag },
          { number: 2, etag: bigEtag },
        ]),
      ),
    code: 'EntityTooSmall',
    status: 400,
  },
  {
    name: 'Complete with a body that is not XML',
    send: () => complete('<Complete'),
    code: 'MalformedXML',
    status: 400,
  },
  {
    name: 'Complete with the wrong root element',
    send: () => complete('<Parts><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Parts>'),
    code: 'MalformedXML',
    status: 400,
  },
  {
    name: 'Complete with an empty part list',
    send: () => complete('<CompleteMultipartUpload></CompleteMultipartUpload>'),
    code: 'MalformedXML',
    status: 400,
  },
  {
    name: 'Complete with a non-numeric PartNumber',
    send: () =>
      complete(
        '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
      ),
    code: 'MalformedXML',
    status: 400,
  },
  {
    name: 'Complete with a body over 2 MiB',
    send: () =>
      complete(`<CompleteMultipartUpload>${' '.repeat(2 * 1024 * 1024 + 1)}</CompleteMultipartUpload>`),
    code: 'MalformedXML',
    status: 400,
  },
  {
    name: 'Complete with x-oss-complete-all and a part list',
    send: () => complete(completeXml([{ number: 2, etag: bigEtag }]), { 'x-oss-complete-all': 'yes' }),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'Complete of an unknown upload id',
    send: () => complete(completeXml([{ number: 1, etag: smallEtag }]), {}, 'NOSUCHUPLOAD0000'),
    code: 'NoSuchUpload',
    status: 404,
  },
  {
    name: 'UploadPart to an unknown upload id',
    send: () =>
      raw({
        method: 'PUT',
        object: KEY,
        subres: { partNumber: 1, uploadId: 'NOSUCHUPLOAD0000' },
        content: SMALL,
        successStatuses: [200],
      }),
    code: 'NoSuchUpload',
    status: 404,
  },
  {
    name: 'UploadPart with part number 0',
    send: () => putPart(0, SMALL),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'UploadPart with part number 10001',
    send: () => putPart(10001, SMALL),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'UploadPart with a wrong Content-MD5',
    send: () => putPart(3, SMALL, { 'Content-MD5': createHash('md5').update('other').digest('base64') }),
    code: 'BadDigest',
    status: 400,
  },
  {
    name: 'UploadPart with a Content-MD5 that is not an MD5',
    send: () => putPart(3, SMALL, { 'Content-MD5': 'not-md5' }),
    code: 'InvalidDigest',
    status: 400,
  },
  {
    name: 'UploadPart with a wrong x-oss-hash-crc64ecma',
    send: () => putPart(3, SMALL, { 'x-oss-hash-crc64ecma': '12345' }),
    code: 'InvalidCRC64',
    status: 400,
  },
  {
    name: 'ListParts of an unknown upload id',
    send: () => client.listParts(KEY, 'NOSUCHUPLOAD0000'),
    code: 'NoSuchUpload',
    status: 404,
  },
  {
    name: 'ListParts with max-parts 0',
    send: () => client.listParts(KEY, uploadId, { 'max-parts': 0 }),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'ListParts with an unknown encoding-type',
    send: () => client.listParts(KEY, uploadId, { 'encoding-type': 'base64' }),
    code: 'InvalidEncodingType',
    status: 400,
  },
  {
    name: 'ListMultipartUploads with max-uploads 1001',
    send: () => client.listUploads({ 'max-uploads': 1001 }),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'UploadPartCopy from a missing key',
    send: () => copyPart({ 'x-oss-copy-source': `/${'bad-input-bucket'}/bad/missing.bin` }),
    code: 'NoSuchKey',
    status: 404,
  },
  {
    name: 'UploadPartCopy from a missing bucket',
    send: () => copyPart({ 'x-oss-copy-source': '/no-such-bucket-here/bad/source.bin' }),
    code: 'NoSuchBucket',
    status: 404,
  },
  {
    name: 'UploadPartCopy with a source not starting with a slash',
    send: () => copyPart({ 'x-oss-copy-source': 'bad-input-bucket/bad/source.bin' }),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'UploadPartCopy with a range past the end of the source',
    send: () =>
      copyPart({
        'x-oss-copy-source': '/bad-input-bucket/bad/source.bin',
        'x-oss-copy-source-range': `bytes=0-${BIG.length}`,
      }),
    code: 'InvalidArgument',
    status: 400,
  },
  {
    name: 'UploadPartCopy with x-oss-copy-source-if-match not matching',
    send: () =>
      copyPart({
        'x-oss-copy-source': '/bad-input-bucket/bad/source.bin',
        'x-oss-copy-source-if-match': '"0123456789ABCDEF0123456789ABCDEF"',
      }),
    code: 'PreconditionFailed',
    status: 412,
  },
  {
    name: 'UploadPartCopy with x-oss-copy-source-if-none-match matching',
    send: () =>
      copyPart({
        'x-oss-copy-source': '/bad-input-bucket/bad/source.bin',
        'x-oss-copy-source-if-none-match': `"${md5Hex(BIG)}"`,
      }),
    code: 'PreconditionFailed',
    status: 412,
  },
];

function complete(content: string, headers: Record<string, string> = {}, id = uploadId) {
  return raw({
    method: 'POST',
    object: KEY,
    subres: { uploadId: id },
    headers: { 'Content-Type': 'application/xml', ...headers },
    content,
    successStatuses: [200],
  });
}

function copyPart(headers: Record<string, string>) {
  return raw({
    method: 'PUT',
    object: KEY,
    subres: { partNumber: 4, uploadId },
    headers,
    successStatuses: [200],
  });
}

async function partsNow(): Promise<string[]> {
  const { parts } = await bed.store.multipart.listParts({ bucket: bed.bucket, key: KEY, uploadId }, 0, 1000);
  return parts.map((p) => `${p.partNumber}:${p.etag}:${p.size}`);
}

describe('bad multipart input', () => {
  it.each(rows)('$name → $code', async (row) => {
    const before = await partsNow();
    const error = await row.send().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: row.code, status: row.status });
    // Nothing was stored or changed, and the upload is still there to be completed.
    expect(await partsNow()).toEqual(before);
    await expect(bed.store.headObject(bed.bucket, KEY)).rejects.toMatchObject({ code: 'NoSuchKey' });
  });

  it('still completes the upload after every refusal, and x-oss-complete-all uses all parts', async () => {
    const crc = crc64(Buffer.concat([SMALL, BIG]));
    // Part 1 is under 100 KiB and not last: replace it with a full-size one first.
    const full = Buffer.alloc(100 * 1024, 0x62);
    await putPart(1, full, { 'Content-MD5': createHash('md5').update(full).digest('base64') });
    const done = await complete('', { 'x-oss-complete-all': 'yes' });
    expect(done.res.status).toBe(200);
    const object = await bed.store.headObject(bed.bucket, KEY);
    expect(object.size).toBe(full.length + BIG.length);
    expect(object.crc64).not.toBe(crc);
    expect(done.res.headers['x-oss-hash-crc64ecma']).toBe(crc64(Buffer.concat([full, BIG])));
    expect(done.res.headers.etag).toBe(`"${object.etag}"`);
  });
});
