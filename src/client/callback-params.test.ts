import { describe, expect, it } from 'vitest';
import { parseCallback, parseFormCallback } from '../callback/parse-callback.ts';
import { buildCallbackParams, callbackHeaders, parseVarPairs } from './callback-params.ts';

describe('buildCallbackParams', () => {
  it('round-trips through the server-side parser with every field set', () => {
    const params = buildCallbackParams({
      url: ['http://127.0.0.1:9000/oss-callback?x=1', 'http://backup.example/cb'],
      body: '{"object":${object},"size":${size},"device":${x:device}}',
      bodyType: 'application/json',
      host: 'app.example.com',
      sni: true,
      vars: { device: 'pixel-8', 'x:app_version': 3 },
    });
    const headers = callbackHeaders(params);
    const spec = parseCallback({
      header: headers['x-oss-callback'],
      varHeader: headers['x-oss-callback-var'],
    });
    expect(spec?.urls.map(String)).toEqual([
      'http://127.0.0.1:9000/oss-callback?x=1',
      'http://backup.example/cb',
    ]);
    expect(spec?.body).toBe('{"object":${object},"size":${size},"device":${x:device}}');
    expect(spec?.bodyType).toBe('application/json');
    expect(spec?.host).toBe('app.example.com');
    expect(spec?.sni).toBe(true);
    expect(spec?.vars).toEqual({ 'x:device': 'pixel-8', 'x:app_version': '3' });
  });

  it('emits the ali-oss key order and omits optional keys', () => {
    const params = buildCallbackParams({ url: 'http://h/cb', body: 'object=${object}' });
    const json = Buffer.from(params.callback, 'base64').toString('utf8');
    expect(json).toBe('{"callbackUrl":"http://h/cb","callbackBody":"object=${object}"}');
    expect(params.callbackVar).toBeUndefined();
    expect(callbackHeaders(params)).toEqual({ 'x-oss-callback': params.callback });
  });

  it('does not double-encode an already encoded URL (unlike encodeURI in ali-oss)', () => {
    const params = buildCallbackParams({ url: 'http://h/a%2Fb', body: 'b=${bucket}' });
    const spec = parseCallback({ header: params.callback });
    expect(spec?.urls[0]?.pathname).toBe('/a%2Fb');
  });

  it('gives PostObject form fields that parse the same way', () => {
    const params = buildCallbackParams({ url: 'http://h/cb', body: 'v=${x:loc}', vars: { loc: 'Hangzhou' } });
    const fields = new Map<string, string>([['callback', params.callback], ...Object.entries(params.vars)]);
    expect(parseFormCallback(fields)?.vars).toEqual({ 'x:loc': 'Hangzhou' });
  });
});

describe('parseVarPairs', () => {
  it('splits on the first = and keeps the rest of the value', () => {
    expect(parseVarPairs(['device=pixel', 'q=a=b', 'empty'])).toEqual({
      device: 'pixel',
      q: 'a=b',
      empty: '',
    });
  });
});
