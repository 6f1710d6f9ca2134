/**
 * PostObject through raw multipart/form-data `fetch` (FormData, file last) against a real server:
 * anonymous forms into a public-read-write bucket, the success_action_* answers, metadata fields,
 * `${filename}`, and malformed forms, each refused with the OSS error and nothing stored.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import { createMultipartTestBed, type MultipartTestBed } from '../../helpers/multipart-test-bed.ts';

let bed: MultipartTestBed;
let privateBucket: string;

beforeAll(async () => {
  bed = await createMultipartTestBed('post-public', 'public-read-write');
  privateBucket = 'post-private';
  await bed.store.createBucket(privateBucket, 'private');
});

afterAll(async () => {
  await bed.close();
});

function formOf(
  fields: Record<string, string>,
  file: Blob | string = 'hello',
  filename = 'hello.txt',
): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (typeof file === 'string') form.append('file', new Blob([file], { type: 'text/plain' }), filename);
  else form.append('file', file, filename);
  return form;
}

async function post(form: FormData | Buffer, bucket = bed.bucket, contentType?: string) {
  const response = await fetch(`${bed.server.url}/${bucket}/`, {
    method: 'POST',
    body: Buffer.isBuffer(form) ? new Uint8Array(form) : form,
    redirect: 'manual',
    ...(contentType !== undefined && { headers: { 'content-type': contentType } }),
  });
  const body = await response.text();
  return { response, body, code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1] };
}

async function objectText(key: string, bucket = bed.bucket): Promise<string> {
  const { body } = await bed.store.getObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

async function keys(bucket = bed.bucket): Promise<string[]> {
  const page = await bed.store.listObjects(bucket, { maxKeys: 1000 });
  return page.objects.map((o) => o.key);
}

describe('PostObject, anonymous form into a public-read-write bucket', () => {
  it('stores the file under the key with ${filename}, its metadata fields, and answers 204', async () => {
    const { response, body } = await post(
      formOf(
        {
          key: 'uploads/${filename}',
          'Content-Type': 'text/x-test',
          'Cache-Control': 'max-age=60',
          'Content-Disposition': 'attachment',
          'x-oss-meta-Color': 'blue',
          'x:var1': 'kept for callbacks only',
        },
        'hello form',
        'greeting.txt',
      ),
    );
    expect(response.status).toBe(204);
    expect(body).toBe('');
    const md5 = createHash('md5').update('hello form').digest();
    expect(response.headers.get('etag')).toBe(`"${md5.toString('hex').toUpperCase()}"`);
    expect(response.headers.get('content-md5')).toBe(md5.toString('base64'));
    expect(response.headers.get('x-oss-hash-crc64ecma')).toBe(crc64(Buffer.from('hello form')));
    expect(response.headers.get('x-oss-request-id')).toMatch(/^[0-9A-F]{24}$/);
    expect(await objectText('uploads/greeting.txt')).toBe('hello form');
    const object = await bed.store.headObject(bed.bucket, 'uploads/greeting.txt');
    expect(object.meta).toEqual({
      contentType: 'text/x-test',
      cacheControl: 'max-age=60',
      contentDisposition: 'attachment',
      userMeta: { color: 'blue' },
    });
  });

  it('answers 200 with an empty body for success_action_status=200', async () => {
    const { response, body } = await post(formOf({ key: 'status/200.txt', success_action_status: '200' }));
    expect(response.status).toBe(200);
    expect(body).toBe('');
    expect(await objectText('status/200.txt')).toBe('hello');
  });

  it('answers 201 with the PostResponse document for success_action_status=201', async () => {
    const { response, body } = await post(formOf({ key: 'status/201 ü.txt', success_action_status: '201' }));
    expect(response.status).toBe(201);
    const etag = createHash('md5').update('hello').digest('hex').toUpperCase();
    expect(body).toContain('<PostResponse>');
    expect(body).toContain(`<Bucket>${bed.bucket}</Bucket>`);
    expect(body).toContain('<Key>status/201 ü.txt</Key>');
    expect(body).toContain(`<ETag>&quot;${etag}&quot;</ETag>`);
    expect(body).toMatch(/<Location>http:\/\/[^<]+\/post-public\/status\/201%20%C3%BC\.txt<\/Location>/);
  });

  it('answers 204 for any other success_action_status', async () => {
    const { response } = await post(formOf({ key: 'status/other.txt', success_action_status: '302' }));
    expect(response.status).toBe(204);
  });

  it('redirects with 303 to success_action_redirect, adding bucket, key and etag', async () => {
    const { response } = await post(
      formOf({ key: 'redirect/a.txt', success_action_redirect: 'https://app.example/done?from=form' }),
    );
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.origin + location.pathname).toBe('https://app.example/done');
    expect(location.searchParams.get('from')).toBe('form');
    expect(location.searchParams.get('bucket')).toBe(bed.bucket);
    expect(location.searchParams.get('key')).toBe('redirect/a.txt');
    expect(location.searchParams.get('etag')).toBe(
      `"${createHash('md5').update('hello').digest('hex').toUpperCase()}"`,
    );
  });

  it('takes the Content-Type from the key when the form has none', async () => {
    await post(formOf({ key: 'types/picture.png' }, 'png?'));
    expect((await bed.store.headObject(bed.bucket, 'types/picture.png')).meta.contentType).toBe('image/png');
  });

  it('accepts field names in any case', async () => {
    const { response } = await post(formOf({ KEY: 'case/upper.txt', 'X-OSS-META-Tag': 'x' }));
    expect(response.status).toBe(204);
    expect((await bed.store.headObject(bed.bucket, 'case/upper.txt')).meta.userMeta).toEqual({ tag: 'x' });
  });

  it('accepts the form at POST / with the bucket in Host (virtual-host style, where browser forms go)', async () => {
    // fetch cannot set Host, so the encoded form goes out over node:http.
    const encoded = new Request('http://form/', { method: 'POST', body: formOf({ key: 'vhost/a.txt' }) });
    const body = Buffer.from(await encoded.arrayBuffer());
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(new URL(bed.server.url).port),
          method: 'POST',
          path: '/',
          headers: {
            host: `${bed.bucket}.oss-cn-hangzhou.aliyuncs.com`,
            'content-type': encoded.headers.get('content-type') ?? '',
            'content-length': body.length,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(204);
    expect(await objectText('vhost/a.txt')).toBe('hello');
  });
});

describe('PostObject refusals (nothing stored)', () => {
  function encoded(parts: { name: string; value: string; filename?: string }[]): {
    body: Buffer;
    type: string;
  } {
    const boundary = 'upcall-test-boundary';
    const chunks = parts.map((p) => {
      const disposition =
        p.filename === undefined
          ? `form-data; name="${p.name}"`
          : `form-data; name="${p.name}"; filename="${p.filename}"`;
      return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n${p.value}\r\n`;
    });
    return {
      body: Buffer.from(`${chunks.join('')}--${boundary}--\r\n`),
      type: `multipart/form-data; boundary=${boundary}`,
    };
  }

  const rows: {
    name: string;
    form: () => { body: FormData | Buffer; type?: string; bucket?: string };
    code: string;
    status: number;
  }[] = [
    {
      name: 'anonymous form into a private bucket',
      form: () => ({ body: formOf({ key: 'denied.txt' }), bucket: privateBucket }),
      code: 'AccessDenied',
      status: 403,
    },
    {
      name: 'form into a bucket that does not exist',
      form: () => ({ body: formOf({ key: 'nowhere.txt' }), bucket: 'no-such-post-bucket' }),
      code: 'NoSuchBucket',
      status: 404,
    },
    {
      name: 'form without a key',
      form: () => ({ body: formOf({ success_action_status: '200' }) }),
      code: 'InvalidArgument',
      status: 400,
    },
    {
      name: 'form without a file',
      form: () => {
        const { body, type } = encoded([{ name: 'key', value: 'nofile.txt' }]);
        return { body, type };
      },
      code: 'IncorrectNumberOfFilesInPOSTRequest',
      status: 400,
    },
    {
      name: 'form with two files',
      form: () => {
        const { body, type } = encoded([
          { name: 'key', value: 'two.txt' },
          { name: 'file', value: 'one', filename: 'a.txt' },
          { name: 'file', value: 'two', filename: 'b.txt' },
        ]);
        return { body, type };
      },
      code: 'IncorrectNumberOfFilesInPOSTRequest',
      status: 400,
    },
    {
      name: 'form with a field after the file',
      form: () => {
        const { body, type } = encoded([
          { name: 'key', value: 'late-field.txt' },
          { name: 'file', value: 'content', filename: 'a.txt' },
          { name: 'x-oss-meta-late', value: 'late' },
        ]);
        return { body, type };
      },
      code: 'InvalidArgument',
      status: 400,
    },
    {
      name: 'body that is not multipart/form-data',
      form: () => ({ body: Buffer.from('key=a.txt'), type: 'application/x-www-form-urlencoded' }),
      code: 'InvalidArgument',
      status: 400,
    },
    {
      name: 'multipart body cut before its closing boundary',
      form: () => {
        const { body, type } = encoded([
          { name: 'key', value: 'cut.txt' },
          { name: 'file', value: 'content', filename: 'a.txt' },
        ]);
        return { body: body.subarray(0, body.length - 30), type };
      },
      code: 'MalformedPOSTRequest',
      status: 400,
    },
    {
      name: 'key starting with a slash',
      form: () => ({ body: formOf({ key: '/abs.txt' }) }),
      code: 'InvalidObjectName',
      status: 400,
    },
    {
      name: 'Content-MD5 field that does not match the file',
      form: () => ({
        body: formOf({ key: 'md5.txt', 'Content-MD5': createHash('md5').update('other').digest('base64') }),
      }),
      code: 'BadDigest',
      status: 400,
    },
  ];

  it.each(rows)('$name → $code', async (row) => {
    const before = await keys();
    const { body, type, bucket } = row.form();
    const result = await post(body, bucket, type);
    expect({ status: result.response.status, code: result.code }).toEqual({
      status: row.status,
      code: row.code,
    });
    expect(await keys()).toEqual(before);
    expect(await keys(privateBucket)).toEqual([]);
  });

  it('stores nothing when the client goes away mid-file, and keeps serving', async () => {
    const before = await keys();
    const boundary = 'cut-boundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\ninterrupted.bin\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`;
    const url = new URL(bed.server.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /${bed.bucket}/ HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}`,
    );
    socket.write(Buffer.alloc(64 * 1024, 1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await keys()).toEqual(before);
    const { response } = await post(formOf({ key: 'after-interrupt.txt' }));
    expect(response.status).toBe(204);
  });
});
