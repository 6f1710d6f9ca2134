import { describe, expect, it } from 'vitest';
import { parseCallback } from '../callback/parse-callback.ts';
import { callbackFromFlags, defaultCallbackBody, parseBodyType } from './callback-options.ts';
import { UsageError } from './connection.ts';

function decode(base64: string): unknown {
  return JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
}

describe('callback flags', () => {
  it('gives no callback without --callback-url', () => {
    expect(callbackFromFlags({})).toBeUndefined();
  });

  it('refuses callback flags that would be silently dropped', () => {
    expect(() => callbackFromFlags({ var: ['a=1'] })).toThrow(UsageError);
    expect(() => callbackFromFlags({ callbackBody: 'x' })).toThrow(/--callback-body needs --callback-url/);
  });

  it('builds a default form body naming the system facts and every --var', () => {
    const params = callbackFromFlags({
      callbackUrl: ['http://127.0.0.1:9100/cb'],
      var: ['device=pixel 8', 'app=1.2'],
    })!;
    const json = decode(params.callback) as Record<string, string>;
    expect(json.callbackUrl).toBe('http://127.0.0.1:9100/cb');
    expect(json.callbackBodyType).toBe('application/x-www-form-urlencoded');
    expect(json.callbackBody).toContain('object=${object}');
    expect(json.callbackBody).toContain('x:device=${x:device}');
    expect(decode(params.callbackVar!)).toEqual({ 'x:device': 'pixel 8', 'x:app': '1.2' });
  });

  it('joins fallback URLs with ; and keeps an explicit body and JSON type', () => {
    const params = callbackFromFlags({
      callbackUrl: ['http://a/cb', 'http://b/cb'],
      callbackBody: '{"o":${object}}',
      callbackBodyType: 'application/json',
      callbackHost: 'app.example',
    })!;
    expect(decode(params.callback)).toEqual({
      callbackUrl: 'http://a/cb;http://b/cb',
      callbackBody: '{"o":${object}}',
      callbackHost: 'app.example',
      callbackBodyType: 'application/json',
    });
  });

  it('produces parameters the server-side parser accepts, in both body types', () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/json'] as const) {
      const params = callbackFromFlags({
        callbackUrl: ['http://127.0.0.1/cb'],
        callbackBodyType: type,
        var: ['k=v'],
      })!;
      const spec = parseCallback({ header: params.callback, varHeader: params.callbackVar });
      expect(spec?.bodyType).toBe(type);
      expect(spec?.body).toBe(defaultCallbackBody(type, ['k']));
    }
  });

  it('default JSON body is valid JSON once placeholders are filled as OSS fills them', () => {
    const body = defaultCallbackBody('application/json', ['device']);
    const filled = body
      .replace(/"\$\{[^}]+\}"/g, '""')
      .replace(/\$\{size\}/g, '3')
      .replace(/\$\{[^}]+\}/g, '"s"');
    expect(() => JSON.parse(filled) as unknown).not.toThrow();
  });

  it('accepts short and full body type names', () => {
    expect(parseBodyType('json')).toBe('application/json');
    expect(parseBodyType('FORM')).toBe('application/x-www-form-urlencoded');
    expect(() => parseBodyType('xml')).toThrow();
  });
});
