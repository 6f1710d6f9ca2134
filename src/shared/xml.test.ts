import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from './oss-error.ts';
import { childElements, childText, el, escapeXml, parseXml, renderXml } from './xml.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isOssError(error) ? error.code : 'not an OssError';
  }
}

describe('renderXml', () => {
  it('writes the declaration, nested elements, numbers, and skips empty children', () => {
    const xml = renderXml(
      el('A', el('B', 'x'), el('N', 3), undefined, null, false, [el('C'), [el('D', 'y')]]),
    );
    expect(xml).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<A><B>x</B><N>3</N><C></C><D>y</D></A>');
  });

  it('escapes markup and characters XML 1.0 cannot carry', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(escapeXml('tab\tnl\n\u0001')).toBe('tab\tnl\n&#x1;');
    expect(escapeXml('\uD83D\uDE00 ok')).toBe('\uD83D\uDE00 ok');
    expect(escapeXml('lone \uD800')).toBe('lone &#xD800;');
  });

  it('round-trips any text that XML can carry through parseXml', () => {
    const xmlChar = fc
      .string({ unit: 'binary' })
      .map((s) =>
        s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/\r/g, ''),
      );
    fc.assert(
      fc.property(xmlChar, (text) => {
        const parsed = parseXml(renderXml(el('Root', el('Key', text))));
        const root = parsed['Root'];
        expect(typeof root === 'object' && !Array.isArray(root) ? childText(root, 'Key') : undefined).toBe(
          text,
        );
      }),
    );
  });
});

describe('parseXml', () => {
  it('reads repeated children as lists and keeps spaces in text', () => {
    const doc = parseXml('<Delete><Object><Key> a </Key></Object><Object><Key>b</Key></Object></Delete>');
    const root = doc['Delete'];
    if (typeof root !== 'object' || Array.isArray(root)) throw new Error('no root');
    const objects = childElements(root, 'Object');
    expect(objects).toHaveLength(2);
    expect(objects.map((o) => (typeof o === 'object' ? childText(o, 'Key') : o))).toEqual([' a ', 'b']);
    expect(childText(root, 'Missing')).toBeUndefined();
  });

  it.each([
    ['not xml at all', 'garbage'],
    ['unclosed', '<A><B></A>'],
    ['empty', '   '],
    ['entity expansion', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
  ])('refuses %s as MalformedXML', (_name, text) => {
    expect(code(() => parseXml(text))).toBe('MalformedXML');
  });

  it('refuses documents over the size cap', () => {
    expect(code(() => parseXml(`<A>${'x'.repeat(100)}</A>`, 50))).toBe('MalformedXML');
  });
});
