import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POST_OBJECT_FORM_LIMITS,
  parsePostObjectForm,
  substituteFilename,
  type PostObjectForm,
} from './post-object-form.ts';

async function encode(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const response = new Response(form);
  return {
    body: Buffer.from(await response.arrayBuffer()),
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** Reads the file and waits for the rest of the form, as PostObject does before committing. */
async function consume(
  form: PostObjectForm,
): Promise<{ fields: Record<string, string>; content: string; filename: string }> {
  const content = await text(form.file.stream);
  await form.formComplete();
  return { fields: Object.fromEntries(form.fields), content, filename: form.file.filename };
}

async function parse(body: Buffer, contentType: string, limits = DEFAULT_POST_OBJECT_FORM_LIMITS) {
  return parsePostObjectForm(Readable.from([body]), { 'content-type': contentType }, limits, consume);
}

describe('parsePostObjectForm', () => {
  it('collects the fields before the file under lower-case names and streams the file', async () => {
    const form = new FormData();
    form.append('Key', 'dir/${filename}');
    form.append('x-oss-meta-Color', 'blue');
    form.append('x:var1', 'one');
    form.append('file', new Blob(['hello world'], { type: 'text/plain' }), 'hello.txt');
    const { body, contentType } = await encode(form);
    const result = await parse(body, contentType);
    expect(result).toEqual({
      fields: { key: 'dir/${filename}', 'x-oss-meta-color': 'blue', 'x:var1': 'one' },
      content: 'hello world',
      filename: 'hello.txt',
    });
  });

  it('takes a file field sent without a filename as the file', async () => {
    const form = new FormData();
    form.append('key', 'k');
    form.append('file', 'plain text body');
    const { body, contentType } = await encode(form);
    const result = await parse(body, contentType);
    expect(result.content).toBe('plain text body');
    expect(result.filename).toBe('');
  });

  it('refuses a form without a file', async () => {
    const form = new FormData();
    form.append('key', 'k');
    const { body, contentType } = await encode(form);
    await expect(parse(body, contentType)).rejects.toMatchObject({
      code: 'IncorrectNumberOfFilesInPOSTRequest',
    });
  });

  it('refuses a second file before the upload commits', async () => {
    const form = new FormData();
    form.append('key', 'k');
    form.append('file', new Blob(['a']), 'a.txt');
    form.append('file', new Blob(['b']), 'b.txt');
    const { body, contentType } = await encode(form);
    await expect(parse(body, contentType)).rejects.toMatchObject({
      code: 'IncorrectNumberOfFilesInPOSTRequest',
    });
  });

  it('refuses a field after the file', async () => {
    const form = new FormData();
    form.append('file', new Blob(['a']), 'a.txt');
    form.append('key', 'k');
    const { body, contentType } = await encode(form);
    await expect(parse(body, contentType)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('refuses a file part with another name', async () => {
    const form = new FormData();
    form.append('upload', new Blob(['a']), 'a.txt');
    const { body, contentType } = await encode(form);
    await expect(parse(body, contentType)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('bounds field size, field count and total field size', async () => {
    const limits = { maxFields: 3, maxFieldBytes: 10, maxTotalFieldBytes: 30 };
    const big = new FormData();
    big.append('policy', 'x'.repeat(11));
    big.append('file', new Blob(['a']), 'a');
    const many = new FormData();
    for (let i = 0; i < 4; i++) many.append(`f${i}`, 'v');
    many.append('file', new Blob(['a']), 'a');
    const total = new FormData();
    for (let i = 0; i < 3; i++) total.append(`f${i}`, 'x'.repeat(9));
    total.append('file', new Blob(['a']), 'a');
    for (const form of [big, many, total]) {
      const { body, contentType } = await encode(form);
      await expect(parse(body, contentType, limits)).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
  });

  it('refuses a body that is not multipart/form-data', async () => {
    await expect(parse(Buffer.from('a=b'), 'application/x-www-form-urlencoded')).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(parse(Buffer.from('a=b'), 'multipart/form-data')).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  it('fails the file stream and the form when the body is cut short', async () => {
    const form = new FormData();
    form.append('key', 'k');
    form.append('file', new Blob(['x'.repeat(100_000)]), 'a');
    const { body, contentType } = await encode(form);
    const cut = body.subarray(0, body.length - 5000);
    await expect(parse(cut, contentType)).rejects.toMatchObject({ code: 'MalformedPOSTRequest' });
  });

  it('fails when the request stream errors mid-file', async () => {
    const form = new FormData();
    form.append('file', new Blob(['x'.repeat(100_000)]), 'a');
    const { body, contentType } = await encode(form);
    const source = new Readable({ read() {} });
    source.push(body.subarray(0, 50_000));
    setImmediate(() => source.destroy(new Error('socket hang up')));
    await expect(
      parsePostObjectForm(source, { 'content-type': contentType }, DEFAULT_POST_OBJECT_FORM_LIMITS, consume),
    ).rejects.toMatchObject({ code: 'IncompleteBody' });
  });
});

describe('substituteFilename', () => {
  it('replaces every ${filename}', () => {
    expect(substituteFilename('u/${filename}/${filename}', 'a b.png')).toBe('u/a b.png/a b.png');
    expect(substituteFilename('plain', 'x')).toBe('plain');
  });
});
