import { describe, expect, it } from 'vitest';
import { parseUploadQuery, uploadToJson } from './uploads-api.ts';

describe('uploads API query parsing', () => {
  it('reads filters, times in ms or ISO, var name and name=value', () => {
    expect(
      parseUploadQuery({
        bucket: 'b',
        prefix: 'a/',
        mimeType: 'image/png',
        since: '1700000000000',
        until: '2026-01-01T00:00:00Z',
        limit: '10',
        verified: 'false',
        var: ['x:uid=42', 'x:flag', 'x:eq=a=b'],
      }),
    ).toEqual({
      bucket: 'b',
      prefix: 'a/',
      mimeType: 'image/png',
      since: 1_700_000_000_000,
      until: Date.parse('2026-01-01T00:00:00Z'),
      limit: 10,
      verified: false,
      vars: [{ name: 'x:uid', value: '42' }, { name: 'x:flag' }, { name: 'x:eq', value: 'a=b' }],
    });
    expect(parseUploadQuery({})).toEqual({});
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: '1001' }],
    [{ limit: '-1' }],
    [{ since: 'soon' }],
    [{ verified: 'yes' }],
    [{ var: '=v' }],
    [{ bucket: ['a', 'b'] }],
  ])('refuses %j', (query) => {
    expect(() => parseUploadQuery(query)).toThrow();
  });

  it('renders the raw body as text and base64, times as ISO', () => {
    const json = uploadToJson({
      id: 7,
      receivedAt: 0,
      verified: true,
      vars: {},
      fields: {},
      bodyFormat: 'unparsed',
      target: '/',
      headers: {},
      rawBody: Buffer.from([0x61, 0xff]),
    });
    expect(json).toMatchObject({ id: 7, receivedAt: '1970-01-01T00:00:00.000Z', bodyBase64: 'Yf8=' });
    expect('rawBody' in json).toBe(false);
  });
});
