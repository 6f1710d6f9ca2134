import { describe, expect, it } from 'vitest';
import { renderCallbackBody } from '../callback/render-callback-body.ts';
import { createIssuedTemplateMatcher } from './issued-callback-template.ts';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const facts = {
  bucket: 'b',
  object: 'uploads/a&b=c "q".txt',
  etag: 'E',
  size: 3,
  mimeType: 'text/plain',
  crc64: '1',
  clientIp: '127.0.0.1',
  reqId: 'r',
  operation: 'PutObject' as const,
};
const bytes = (text: string) => Buffer.from(text);

describe('issued callback template matcher', () => {
  const formTemplate = 'bucket=${bucket}&object=${object}&size=${size}&x:device=${x:device}';
  const jsonTemplate = '{"object":${object},"size":${size},"note":"n=${x:note}"}';
  const match = createIssuedTemplateMatcher([
    { body: formTemplate },
    { body: jsonTemplate, bodyType: JSON_TYPE },
  ]);

  it('accepts what the server renders from an issued template, whatever the values', () => {
    const vars = { 'x:device': 'a&b', 'x:note': 'he said "hi"' };
    const form = renderCallbackBody({ body: formTemplate, bodyType: FORM, vars }, facts);
    expect(match(bytes(form), FORM)).toBe(true);
    const json = renderCallbackBody({ body: jsonTemplate, bodyType: JSON_TYPE, vars }, facts);
    expect(match(bytes(json), 'application/json; charset=utf-8')).toBe(true);
  });

  it('refuses other templates, other body types, and bodies with extra fields', () => {
    expect(match(bytes('object=uploads%2Fbob%2Fevil.jpg&size=999'), FORM)).toBe(false);
    expect(match(bytes('bucket=b&object=o&size=1&x:device=d&object=evil'), FORM)).toBe(false);
    const form = renderCallbackBody({ body: formTemplate, bodyType: FORM, vars: {} }, facts);
    expect(match(bytes(form), JSON_TYPE)).toBe(false);
    expect(createIssuedTemplateMatcher([])(bytes(form), FORM)).toBe(false);
  });
});
