import { describe, expect, it } from 'vitest';
import {
  formEncode,
  renderCallbackBody,
  templateUsesImageInfo,
  type UploadFacts,
} from './render-callback-body.ts';

const FACTS: UploadFacts = {
  bucket: 'deeplink',
  object: 'headSculpture/jikang2.jpg',
  etag: 'D8E8FCA2DC0F896FD7CB4CB0031BA249',
  size: 108904,
  mimeType: 'image/jpeg',
  imageInfo: { width: 200, height: 278, format: 'jpg' },
  crc64: '18446744073709551615',
  contentMd5: 'G5H/anNzgdvMS2AsvXpi6A==',
  clientIp: '10.0.0.1',
  reqId: '5CF3E7821AB22D0FDB86704D',
  operation: 'PutObject',
};

const form = (body: string, vars: Record<string, string> = {}, facts = FACTS): string =>
  renderCallbackBody({ body, bodyType: 'application/x-www-form-urlencoded', vars }, facts);
const json = (body: string, vars: Record<string, string> = {}, facts = FACTS): string =>
  renderCallbackBody({ body, bodyType: 'application/json', vars }, facts);

describe('renderCallbackBody, form mode', () => {
  it('reproduces the body of the real 2019 capture (SPEC §11 C)', () => {
    expect(
      form(
        'filename=${object}&size=${size}&mimeType=${mimeType}&height=${imageInfo.height}&width=${imageInfo.width}',
      ),
    ).toBe('filename=headSculpture%2Fjikang2.jpg&size=108904&mimeType=image%2Fjpeg&height=278&width=200');
  });

  it('substitutes every system variable', () => {
    expect(
      form(
        'b=${bucket}&e=${etag}&f=${imageInfo.format}&c=${crc64}&m=${contentMd5}&v=${vpcId}&ip=${clientIp}&r=${reqId}&o=${operation}',
      ),
    ).toBe(
      'b=deeplink&e=D8E8FCA2DC0F896FD7CB4CB0031BA249&f=jpg&c=18446744073709551615&m=G5H%2FanNzgdvMS2AsvXpi6A%3D%3D&v=&ip=10.0.0.1&r=5CF3E7821AB22D0FDB86704D&o=PutObject',
    );
  });

  it('renders image variables and contentMd5 empty when absent', () => {
    const facts: UploadFacts = {
      ...FACTS,
      imageInfo: undefined,
      contentMd5: undefined,
      mimeType: 'text/plain',
    };
    expect(
      form(
        'mimeType=${mimeType}&imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}&imageInfo.format=${imageInfo.format}&md5=${contentMd5}',
        {},
        facts,
      ),
    ).toBe('mimeType=text%2Fplain&imageInfo.height=&imageInfo.width=&imageInfo.format=&md5=');
  });

  it('URL-encodes values: unreserved kept, space %20, upper-case hex, UTF-8 bytes', () => {
    expect(form('k=${x:v}', { 'x:v': "a b+c/d~e_f.g-h!*'()&=%中" })).toBe(
      'k=a%20b%2Bc%2Fd~e_f.g-h%21%2A%27%28%29%26%3D%25%E4%B8%AD',
    );
  });

  it('renders an unresolved custom variable empty and keeps unknown names verbatim', () => {
    expect(form('a=${x:missing}&b=${foo}&c=${Bucket}&d=${bucket', {})).toBe(
      'a=&b=${foo}&c=${Bucket}&d=${bucket',
    );
  });

  it('copies template text verbatim, including an encoded placeholder', () => {
    expect(form('%24%7Bbucket%7D=${bucket} & ü')).toBe('%24%7Bbucket%7D=deeplink & ü');
  });

  it('does not throw on lone surrogates', () => {
    expect(formEncode('\ud800')).toBe('%EF%BF%BD');
  });
});

describe('renderCallbackBody, JSON mode', () => {
  it('reproduces the body of the real Cloudreve capture (SPEC §11 B)', () => {
    const facts: UploadFacts = {
      ...FACTS,
      object: '1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg',
      size: 114020,
      imageInfo: { width: 810, height: 539, format: 'jpg' },
    };
    expect(
      json(
        '{"name":${x:fname},"source_name":${object},"size":${size},"pic_info":"${imageInfo.width},${imageInfo.height}"}',
        { 'x:fname': '2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg' },
        facts,
      ),
    ).toBe(
      '{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}',
    );
  });

  it('quotes strings with standard JSON escaping and inserts numbers bare', () => {
    const body = json('{"o":${object},"s":${size},"w":${imageInfo.width},"c":${crc64},"v":${x:v}}', {
      'x:v': 'say "hi"\\\n中/',
    });
    expect(body).toBe(
      '{"o":"headSculpture/jikang2.jpg","s":108904,"w":200,"c":"18446744073709551615","v":"say \\"hi\\"\\\\\\n中/"}',
    );
    expect(JSON.parse(body)).toMatchObject({ v: 'say "hi"\\\n中/' });
  });

  it('does not double-quote a string placeholder written inside quotes', () => {
    const body = json('{"key":"${object}","both":"${bucket}:${x:a}","esc":"\\"${x:a}"}', { 'x:a': 'q"' });
    expect(body).toBe('{"key":"headSculpture/jikang2.jpg","both":"deeplink:q\\"","esc":"\\"q\\""}');
    expect(JSON.parse(body)).toEqual({ key: 'headSculpture/jikang2.jpg', both: 'deeplink:q"', esc: '"q"' });
  });

  it('substitutes a placeholder right after a backslash inside quotes (a `$` is no JSON escape)', () => {
    // Found by the property test: `\${bucket}` was copied as an escape and left `${bucket}` in.
    expect(json('{"a":"\\${bucket}","b":"\\\\${x:a}"}', { 'x:a': 'v' })).toBe(
      '{"a":"\\deeplink","b":"\\\\v"}',
    );
  });

  it('renders a missing custom variable as an empty string and non-image sizes empty', () => {
    expect(json('{"a":${x:none},"h":"${imageInfo.height}"}', {}, { ...FACTS, imageInfo: undefined })).toBe(
      '{"a":"","h":""}',
    );
  });

  it('renders a non-JSON template too (OSS does not validate JSON bodies)', () => {
    expect(json('春水碧于天 ${bucket}')).toBe('春水碧于天 "deeplink"');
  });
});

describe('renderCallbackBody, one template again and again', () => {
  it('renders each upload with its own facts and vars, in the mode asked for each time', () => {
    const template = '{"o":${object},"v":"${x:v}","n":${size}}';
    for (let i = 0; i < 3; i++) {
      const facts = { ...FACTS, object: `a b/${i}`, size: i };
      expect(form(template, { 'x:v': `v ${i}` }, facts)).toBe(`{"o":a%20b%2F${i},"v":"v%20${i}","n":${i}}`);
      expect(json(template, { 'x:v': `v ${i}` }, facts)).toBe(`{"o":"a b/${i}","v":"v ${i}","n":${i}}`);
    }
  });
});

describe('templateUsesImageInfo', () => {
  it('detects imageInfo placeholders', () => {
    expect(templateUsesImageInfo('w=${imageInfo.width}')).toBe(true);
    expect(templateUsesImageInfo('b=${bucket}')).toBe(false);
  });
});
