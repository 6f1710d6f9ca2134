import { describe, expect, it } from 'vitest';
import { parseCallbackBody } from './callback-body.ts';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');

describe('callback body facts', () => {
  it('reads the official web sample form body (SPEC.md §10.2, vector C)', () => {
    const facts = parseCallbackBody(
      'application/x-www-form-urlencoded',
      enc('filename=headSculpture%2Fjikang2.jpg&size=108904&mimeType=image%2Fjpeg&height=278&width=200'),
    );
    expect(facts.format).toBe('form');
    expect(facts.object).toBe('headSculpture/jikang2.jpg');
    expect(facts.size).toBe(108904);
    expect(facts.mimeType).toBe('image/jpeg');
    expect(facts.imageInfo).toEqual({ height: 278, width: 200 });
  });

  it('collects x: variables and dotted imageInfo names', () => {
    const facts = parseCallbackBody(
      'application/x-www-form-urlencoded; charset=utf-8',
      enc(
        'bucket=b1&object=a+b%2Fc.png&etag=%22E%22&imageInfo.height=10&imageInfo.width=20&imageInfo.format=png&x:uid=42&x:note=%E4%B8%AD',
      ),
    );
    expect(facts).toMatchObject({
      bucket: 'b1',
      object: 'a b/c.png',
      etag: '"E"',
      imageInfo: { height: 10, width: 20, format: 'png' },
      vars: { 'x:uid': '42', 'x:note': '中' },
    });
  });

  it('reads JSON bodies, numbers and nested imageInfo (vector B shape)', () => {
    const facts = parseCallbackBody(
      'application/json',
      enc('{"object":"k.jpg","size":114020,"imageInfo":{"height":"539","width":810},"x:a":"1","x:n":2}'),
    );
    expect(facts.format).toBe('json');
    expect(facts).toMatchObject({ object: 'k.jpg', size: 114020, imageInfo: { height: 539, width: 810 } });
    expect(facts.vars).toEqual({ 'x:a': '1', 'x:n': '2' });
  });

  it('keeps invalid JSON and unknown types unparsed instead of throwing', () => {
    expect(parseCallbackBody('application/json', enc('{bad')).format).toBe('unparsed');
    expect(parseCallbackBody('application/json', enc('[1,2]')).format).toBe('unparsed');
    expect(parseCallbackBody('text/plain', enc('a=b')).format).toBe('unparsed');
    expect(parseCallbackBody(undefined, enc('a=b')).fields).toEqual({});
  });
});
