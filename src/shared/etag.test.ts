import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { etagsMatch, md5Etag, multipartEtag, normalizeEtag, quoteEtag, unquoteEtag } from './etag.ts';

describe('etag', () => {
  it('is the upper-case hex MD5 of the body', () => {
    // SPEC.md §5 example: the MD5 of "test\n".
    expect(md5Etag(Buffer.from('test\n'))).toBe('D8E8FCA2DC0F896FD7CB4CB0031BA249');
  });

  it('builds the multipart form from the binary part MD5s', () => {
    const parts = [Buffer.from('part one'), Buffer.from('part two')];
    const md5s = parts.map((p) => createHash('md5').update(p).digest());
    const expected = createHash('md5').update(Buffer.concat(md5s)).digest('hex').toUpperCase() + '-2';
    expect(multipartEtag(parts.map((p) => md5Etag(p)))).toBe(expected);
    // Client-sent forms (quoted, lower case) give the same result.
    expect(multipartEtag(md5s.map((m) => `"${m.toString('hex')}"`))).toBe(expected);
  });

  it('quotes, unquotes and normalises', () => {
    expect(quoteEtag('ABC')).toBe('"ABC"');
    expect(quoteEtag('"ABC"')).toBe('"ABC"');
    expect(unquoteEtag(' "abc" ')).toBe('abc');
    expect(unquoteEtag('&quot;abc&quot;')).toBe('abc');
    expect(unquoteEtag('"')).toBe('"');
    expect(normalizeEtag('"d8e8fca2dc0f896fd7cb4cb0031ba249"')).toBe('D8E8FCA2DC0F896FD7CB4CB0031BA249');
    expect(etagsMatch('"abc-2"', 'ABC-2')).toBe(true);
    expect(etagsMatch('abc', 'abd')).toBe(false);
  });
});
