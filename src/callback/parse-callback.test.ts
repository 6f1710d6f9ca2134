import { describe, expect, it } from 'vitest';
import { isOssError, type OssError } from '../shared/oss-error.ts';
import { createCallbackParser, parseCallback, parseFormCallback } from './parse-callback.ts';

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

const BASE = { callbackUrl: 'http://app.example.com:23450/cb?x=1', callbackBody: 'bucket=${bucket}' };

function failure(fn: () => unknown): OssError {
  try {
    fn();
  } catch (error) {
    if (isOssError(error)) return error;
    throw error;
  }
  throw new Error('expected an OssError');
}

function expectInvalid(
  fn: () => unknown,
  message: string,
  ec: string | undefined,
  argumentName = 'callback',
): void {
  const error = failure(fn);
  expect(error.code).toBe('InvalidArgument');
  expect(error.status).toBe(400);
  expect(error.message).toBe(message);
  expect(error.details['ArgumentName']).toBe(argumentName);
  expect(error.details['EC']).toBe(ec);
}

describe('parseCallback', () => {
  it('parses a header callback with defaults', () => {
    const spec = parseCallback({ header: b64(BASE) });
    expect(spec?.urls.map(String)).toEqual(['http://app.example.com:23450/cb?x=1']);
    expect(spec?.body).toBe('bucket=${bucket}');
    expect(spec?.bodyType).toBe('application/x-www-form-urlencoded');
    expect(spec?.sni).toBe(false);
    expect(spec?.host).toBeUndefined();
    expect(spec?.vars).toEqual({});
  });

  it('gives each upload its own spec when the same parameter comes again (parsed once, kept)', () => {
    const header = b64({ ...BASE, callbackBody: 'object=${object}&v=${x:v}' });
    const first = parseCallback({ header, varHeader: b64({ 'x:v': 'one' }) });
    const second = parseCallback({ header, varHeader: b64({ 'x:v': 'two' }) });
    const third = parseCallback({ header });
    expect(first).not.toBe(second);
    expect(first?.vars).toEqual({ 'x:v': 'one' });
    expect(second?.vars).toEqual({ 'x:v': 'two' });
    expect(third?.vars).toEqual({});
    expect(second?.urls.map(String)).toEqual(['http://app.example.com:23450/cb?x=1']);
    expect(Object.isFrozen(second?.urls)).toBe(true);
    // An empty callbackUrl is "no callback", again and again.
    const none = b64({ callbackUrl: '', callbackBody: 'x' });
    expect(parseCallback({ header: none })).toBeUndefined();
    expect(parseCallback({ header: none })).toBeUndefined();
  });

  it('applies the private-address check to a parameter first parsed without it', () => {
    const header = b64({ ...BASE, callbackUrl: 'http://10.1.2.3/cb' });
    expect(parseCallback({ header })?.urls.map(String)).toEqual(['http://10.1.2.3/cb']);
    expectInvalid(
      () => parseCallback({ header }, { isForbiddenAddress: (host) => host.startsWith('10.') }),
      'Private address is forbidden to callback.',
      '0007-00000008',
    );
    expect(parseCallback({ header })?.urls.map(String)).toEqual(['http://10.1.2.3/cb']);
  });

  it('fails a bad parameter every time it comes, not only the first', () => {
    const header = b64({ ...BASE, callbackBodyType: 'text/plain' });
    for (let i = 0; i < 2; i++) {
      expectInvalid(
        () => parseCallback({ header }),
        'The callback body type configuration is invalid.',
        '0007-00000012',
      );
    }
  });

  it('parses every optional field and the callback-var header', () => {
    const spec = parseCallback({
      query: b64({
        ...BASE,
        callbackHost: 'oss-cn-hangzhou.aliyuncs.com',
        callbackBodyType: 'application/json',
        callbackSNI: true,
        unknownKey: 1,
      }),
      varQuery: b64({ 'x:var1': 'value1', 'x:键值1': '值', 'x:n': 3, other: 'ignored' }),
    });
    expect(spec?.host).toBe('oss-cn-hangzhou.aliyuncs.com');
    expect(spec?.bodyType).toBe('application/json');
    expect(spec?.sni).toBe(true);
    expect(spec?.vars).toEqual({ 'x:var1': 'value1', 'x:键值1': '值', 'x:n': '3' });
  });

  it('returns undefined without a callback, with an empty parameter or an empty callbackUrl', () => {
    expect(parseCallback({})).toBeUndefined();
    expect(parseCallback({ varHeader: b64({ 'x:a': 'b' }) })).toBeUndefined();
    expect(parseCallback({ header: '' })).toBeUndefined();
    expect(parseCallback({ header: b64({ callbackUrl: '', callbackBody: '' }) })).toBeUndefined();
  });

  it('accepts scheme-less URLs as http, https URLs, several URLs and a trailing ;', () => {
    const spec = parseCallback({
      header: b64({ ...BASE, callbackUrl: '121.43.113.8:23456/index.html;www.aliyuncs.com;https://a.b/c;' }),
    });
    expect(spec?.urls.map(String)).toEqual([
      'http://121.43.113.8:23456/index.html',
      'http://www.aliyuncs.com/',
      'https://a.b/c',
    ]);
  });

  it('accepts JSON with whitespace and a trailing space after values, as the Java SDK sends', () => {
    const text = `{"callbackUrl" : "http://a.b/" , "callbackBody" : "{\\"mimeType\\":\${mimeType}}" }`;
    expect(parseCallback({ header: b64(text) })?.body).toBe('{"mimeType":${mimeType}}');
  });

  it('rejects header and query together', () => {
    expectInvalid(
      () => parseCallback({ header: b64(BASE), query: b64(BASE) }),
      'Either the callback query string parameter or the x-oss-callback header should be specified, not both.',
      '0007-00000027',
    );
    expectInvalid(
      () => parseCallback({ header: b64(BASE), varHeader: b64({}), varQuery: b64({}) }),
      'Either the callback-var query string parameter or the x-oss-callback-var header should be specified, not both.',
      '0007-00000027',
      'callback-var',
    );
  });

  it('rejects a callback longer than 5120 bytes of base64 text, but not one of exactly 5120', () => {
    const fill = (n: number): string => {
      // Pad the body so the base64 text is exactly n characters long.
      let body = 'x';
      while (b64({ ...BASE, callbackBody: body }).length < n) body += 'x';
      return b64({ ...BASE, callbackBody: body });
    };
    const atLimit = fill(5120);
    expect(atLimit.length).toBe(5120);
    expect(parseCallback({ header: atLimit })).toBeDefined();
    const over = fill(5121);
    expect(over.length).toBeGreaterThan(5120);
    expectInvalid(
      () => parseCallback({ header: over }),
      'The length of callback exceed max value.',
      '0007-00000001',
    );
  });

  it('rejects text that is not base64', () => {
    for (const value of ['not base64!', 'abc', '====', 'YWJj\n']) {
      expectInvalid(
        () => parseCallback({ header: value }),
        'The callback configuration is not base64 encoded.',
        '0007-00000002',
      );
    }
  });

  it('rejects base64 that is not a JSON object', () => {
    for (const text of ['{"callbackUrl":', '[1,2]', '"text"', 'null', '\u00ff']) {
      expectInvalid(
        () => parseCallback({ header: b64(text) }),
        'The callback configuration is not json format.',
        '0007-00000003',
      );
    }
    // Invalid UTF-8 is not JSON text either.
    expectInvalid(
      () => parseCallback({ header: Buffer.from([0x7b, 0xff, 0x7d, 0x20]).toString('base64') }),
      'The callback configuration is not json format.',
      '0007-00000003',
    );
  });

  it('reports the decoded JSON text as ArgumentValue', () => {
    const text = JSON.stringify({ callbackUrl: 'http://a.b/', callbackBody: '' });
    expect(failure(() => parseCallback({ header: b64(text) })).details['ArgumentValue']).toBe(text);
  });

  it('rejects a missing callbackUrl', () => {
    expectInvalid(
      () => parseCallback({ header: b64({ callbackBody: 'a' }) }),
      'The callback url configuration is invalid.',
      undefined,
    );
    expectInvalid(
      () => parseCallback({ header: b64({ callbackUrl: 42, callbackBody: 'a' }) }),
      'The callback url configuration is invalid.',
      undefined,
    );
  });

  it('rejects bad URLs and ports', () => {
    for (const url of [
      'my.com:test',
      '10.101.166.30:test',
      'ftp://a.b/',
      'http://',
      'http://[::1]:80/',
      'a.b;;c.d',
      'http://u:p@a.b/',
      'a b.com',
    ]) {
      expectInvalid(
        () => parseCallback({ header: b64({ ...BASE, callbackUrl: url }) }),
        'The callback url configuration is invalid.',
        '0007-00000004',
      );
    }
  });

  it('rejects more than 5 URLs, counting a trailing ;', () => {
    for (const url of ['a;b;c;d;e;f', 'a;b;c;d;e;f;', 'a;b;c;d;e;']) {
      expectInvalid(
        () => parseCallback({ header: b64({ ...BASE, callbackUrl: url }) }),
        'The number of callback url exceed max value.',
        '0007-00000005',
      );
    }
    expect(parseCallback({ header: b64({ ...BASE, callbackUrl: 'a;b;c;d;e' }) })?.urls).toHaveLength(5);
  });

  it('rejects a bad callbackHost', () => {
    for (const host of ['a b', 'a/b', 'a\r\nb', 42, 'a:99999999']) {
      expectInvalid(
        () => parseCallback({ header: b64({ ...BASE, callbackHost: host }) }),
        'The callback host configuration is invalid.',
        '0007-00000009',
      );
    }
  });

  it('rejects an empty or missing callbackBody', () => {
    for (const body of [undefined, '', null]) {
      expectInvalid(
        () => parseCallback({ header: b64({ callbackUrl: 'http://a.b/', callbackBody: body }) }),
        'The callback body is empty.',
        '0007-00000010',
      );
    }
  });

  it('rejects $( syntax, an unterminated ${ and a non-string body', () => {
    for (const body of ['bucket=${bucket}&object=$(object)', 'a=${bucket', { a: 1 }, 7]) {
      expectInvalid(
        () => parseCallback({ header: b64({ callbackUrl: 'http://a.b/', callbackBody: body }) }),
        'The callback body is invalid.',
        '0007-00000011',
      );
    }
    expect(parseCallback({ header: b64({ ...BASE, callbackBody: 'price=$5&a={b}' }) })?.body).toBe(
      'price=$5&a={b}',
    );
  });

  it('rejects a body type other than form or JSON', () => {
    for (const type of ['text/plain', 'application/json; charset=utf-8', 1]) {
      expectInvalid(
        () => parseCallback({ header: b64({ ...BASE, callbackBodyType: type }) }),
        'The callback body type configuration is invalid.',
        '0007-00000012',
      );
    }
  });

  it('rejects a non-boolean callbackSNI', () => {
    for (const sni of ['true', 1, null]) {
      expectInvalid(
        () => parseCallback({ header: b64({ ...BASE, callbackSNI: sni }) }),
        'The callback sni is invalid.',
        '0007-00000014',
      );
    }
  });

  it('validates in the §12.2 order: URL before body before body type before SNI before vars', () => {
    const all = { callbackUrl: 'my.com:test', callbackBody: '', callbackBodyType: 'x', callbackSNI: 'x' };
    expect(failure(() => parseCallback({ header: b64(all), varHeader: '!' })).message).toBe(
      'The callback url configuration is invalid.',
    );
    expect(failure(() => parseCallback({ header: b64({ ...all, callbackUrl: 'a.b' }) })).message).toBe(
      'The callback body is empty.',
    );
    expect(
      failure(() => parseCallback({ header: b64({ ...all, callbackUrl: 'a.b', callbackBody: 'b' }) }))
        .message,
    ).toBe('The callback body type configuration is invalid.');
    expect(failure(() => parseCallback({ header: b64(BASE), varHeader: '!' })).message).toBe(
      'The callback var is not expecten json.',
    );
  });

  it('refuses literal private IPs when asked, after the URL checks and before the body', () => {
    const isForbiddenAddress = (host: string): boolean => host === '192.168.1.1';
    const text = JSON.stringify({ callbackUrl: 'http://a.b/;http://192.168.1.1/cb', callbackBody: '' });
    const error = failure(() => parseCallback({ header: b64(text) }, { isForbiddenAddress }));
    expect(error.message).toBe('Private address is forbidden to callback.');
    expect(error.details).toEqual({ ArgumentName: 'callback', ArgumentValue: text, EC: '0007-00000008' });
    // More than 5 URLs is reported first; without the option the private URL is accepted.
    expectInvalid(
      () =>
        parseCallback(
          { header: b64({ ...BASE, callbackUrl: 'http://192.168.1.1/;b;c;d;e;f' }) },
          { isForbiddenAddress },
        ),
      'The number of callback url exceed max value.',
      '0007-00000005',
    );
    expect(parseCallback({ header: b64({ ...BASE, callbackUrl: 'http://192.168.1.1/' }) })).toBeDefined();
  });

  it('rejects a callback-var that is too long, not base64, not JSON or of the wrong shape', () => {
    expectInvalid(
      () => parseCallback({ header: b64(BASE), varHeader: b64({ 'x:a': 'v'.repeat(4000) }) }),
      'The length of callback var exceed max value.',
      '0007-00000101',
      'callback-var',
    );
    for (const value of ['!!', b64('nope'), b64([1]), b64({ 'x:a': { nested: 1 } }), b64({ 'x:a': null })]) {
      expectInvalid(
        () => parseCallback({ header: b64(BASE), varHeader: value }),
        'The callback var is not expecten json.',
        undefined,
        'callback-var',
      );
    }
  });
});

describe('parseFormCallback', () => {
  it('takes the callback field and x: fields as custom variables', () => {
    const fields = new Map([
      ['key', 'a.txt'],
      ['callback', b64(BASE)],
      ['x:var1', 'one'],
      ['x:var2', 'two & three'],
    ]);
    expect(parseFormCallback(fields)?.vars).toEqual({ 'x:var1': 'one', 'x:var2': 'two & three' });
  });

  it('also accepts a whole callback-var field, overridden by x: fields', () => {
    const fields = new Map([
      ['callback', b64(BASE)],
      ['callback-var', b64({ 'x:a': '1', 'x:b': '2' })],
      ['x:b', 'form'],
    ]);
    expect(parseFormCallback(fields)?.vars).toEqual({ 'x:a': '1', 'x:b': 'form' });
  });

  it('returns undefined without a callback field and validates like the header', () => {
    expect(parseFormCallback(new Map([['x:a', 'b']]))).toBeUndefined();
    expectInvalid(
      () => parseFormCallback(new Map([['callback', 'not base64!']])),
      'The callback configuration is not base64 encoded.',
      '0007-00000002',
    );
  });
});

describe('createCallbackParser', () => {
  it('keeps recent values yet answers as parseCallback does, with a fresh spec per call', () => {
    const parser = createCallbackParser();
    const params = { header: b64(BASE), varHeader: b64({ 'x:a': '1' }) };
    const first = parser.parseCallback(params)!;
    const again = parser.parseCallback({ header: b64(BASE) })!;
    expect(first).toEqual(parseCallback(params));
    expect(again).toEqual(parseCallback({ header: b64(BASE) }));
    // Callers set `vars` on what they get: a kept value must not carry one request's vars into the next.
    expect(again).not.toBe(first);
    expect(again.vars).toEqual({});
  });

  it('applies the literal-address refusal of each call, not the one a kept value was parsed with', () => {
    const parser = createCallbackParser();
    const header = b64({ callbackUrl: 'http://192.168.1.1/cb', callbackBody: 'a=b' });
    expect(parser.parseCallback({ header })?.urls.map(String)).toEqual(['http://192.168.1.1/cb']);
    const refuse = (host: string): boolean => host.startsWith('192.168.');
    expectInvalid(
      () => parser.parseCallback({ header }, { isForbiddenAddress: refuse }),
      'Private address is forbidden to callback.',
      '0007-00000008',
    );
  });

  it('keeps nothing between parsers: a value that fails fails again, in every parser', () => {
    for (const parser of [createCallbackParser(), createCallbackParser()]) {
      for (let i = 0; i < 2; i++) {
        expectInvalid(
          () => parser.parseFormCallback(new Map([['callback', 'not base64!']])),
          'The callback configuration is not base64 encoded.',
          '0007-00000002',
        );
      }
    }
  });
});
