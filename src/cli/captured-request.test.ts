import { describe, expect, it } from 'vitest';
import { parseHeaderBlock, parseRawRequest } from './captured-request.ts';

describe('captured requests', () => {
  it('splits a CRLF request into request line, headers and exact body bytes', () => {
    const body = Buffer.from([0x61, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0x00]);
    const raw = Buffer.concat([
      Buffer.from('POST /cb?a=1 HTTP/1.1\r\nAuthorization: abc\r\nX-Oss-Bucket: b\r\n\r\n'),
      body,
    ]);
    const parsed = parseRawRequest(raw);
    expect(parsed.method).toBe('POST');
    expect(parsed.target).toBe('/cb?a=1');
    expect(parsed.headers).toEqual({ authorization: 'abc', 'x-oss-bucket': 'b' });
    expect(parsed.body.equals(body)).toBe(true);
  });

  it('accepts LF-only captures and header files without a request line', () => {
    expect(parseRawRequest(Buffer.from('POST /x\nA: 1\n\nbody')).body.toString()).toBe('body');
    const head = parseHeaderBlock('Content-Type: text/plain\nx-oss-tag:  CALLBACK  \n');
    expect(head.target).toBeUndefined();
    expect(head.headers).toEqual({ 'content-type': 'text/plain', 'x-oss-tag': 'CALLBACK' });
  });

  it('rejects a line that is not a header', () => {
    expect(() => parseHeaderBlock('POST /x HTTP/1.1\nnot a header')).toThrow(/not a header line/);
  });
});
