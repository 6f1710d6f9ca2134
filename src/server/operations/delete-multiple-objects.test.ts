import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeXml } from '../../shared/xml.ts';
import { parseDeleteDocument } from './delete-multiple-objects.ts';

const doc = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Delete>${inner}</Delete>`;
const code = (text: string): string | undefined => {
  try {
    parseDeleteDocument(text);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('parseDeleteDocument', () => {
  it('reads Quiet and the keys in order, keeping spaces and escaped characters', () => {
    expect(
      parseDeleteDocument(
        doc(
          '<Quiet>true</Quiet><Object><Key> a &amp; b </Key></Object><Object><Key>c/&lt;d&gt;</Key></Object>',
        ),
      ),
    ).toEqual({ quiet: true, keys: [' a & b ', 'c/<d>'] });
  });

  it('defaults Quiet to false and accepts any case', () => {
    expect(parseDeleteDocument(doc('<Object><Key>k</Key></Object>')).quiet).toBe(false);
    expect(parseDeleteDocument(doc('<Quiet>TRUE</Quiet><Object><Key>k</Key></Object>')).quiet).toBe(true);
  });

  it('refuses documents OSS refuses', () => {
    expect(code(doc(''))).toBe('MalformedXML');
    expect(code(doc('<Quiet>yes</Quiet><Object><Key>k</Key></Object>'))).toBe('MalformedXML');
    expect(code(doc('<Object></Object>'))).toBe('MalformedXML');
    expect(code(doc('<Object><Key><Inner/></Key></Object>'))).toBe('MalformedXML');
    expect(code('<Other><Object><Key>k</Key></Object></Other>')).toBe('MalformedXML');
    expect(code(doc('<Object><Key>/leading</Key></Object>'))).toBe('InvalidObjectName');
    expect(code(doc(`<Object><Key>${'k'.repeat(1024)}</Key></Object>`))).toBe('KeyTooLong');
    const many = Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('');
    expect(code(doc(many))).toBe('MalformedXML');
    const max = Array.from({ length: 1000 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('');
    expect(parseDeleteDocument(doc(max)).keys).toHaveLength(1000);
  });

  // eslint-disable-next-line no-control-regex -- the characters XML 1.0 cannot carry, and CR
  const UNCARRIABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\r]/;

  it('property: any valid key list escaped as ali-oss does reads back unchanged', () => {
    // Characters XML 1.0 cannot carry (and CR, which XML normalises) are out of scope.
    const key = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
      .filter((k) => !k.startsWith('/') && !k.startsWith('\\') && !UNCARRIABLE.test(k));
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 20 }), fc.boolean(), (keys, quiet) => {
        const text = doc(
          `<Quiet>${String(quiet)}</Quiet>${keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('')}`,
        );
        expect(parseDeleteDocument(text)).toEqual({ quiet, keys });
      }),
    );
  });
});
