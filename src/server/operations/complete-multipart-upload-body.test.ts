import { describe, expect, it } from 'vitest';
import { parseCompleteMultipartUpload } from './complete-multipart-upload-body.ts';

describe('parseCompleteMultipartUpload', () => {
  it('reads the part list ali-oss sends', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n<Part>\n<PartNumber>1</PartNumber>\n' +
      '<ETag>"AB"</ETag>\n</Part>\n<Part>\n<PartNumber>2</PartNumber>\n<ETag>"CD"</ETag>\n</Part>\n</CompleteMultipartUpload>';
    expect(parseCompleteMultipartUpload(xml)).toEqual([
      { partNumber: 1, etag: '"AB"' },
      { partNumber: 2, etag: '"CD"' },
    ]);
  });

  it('keeps the client order so the store can report InvalidPartOrder', () => {
    const xml =
      '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>x</ETag></Part>' +
      '<Part><PartNumber>1</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>';
    expect(parseCompleteMultipartUpload(xml).map((p) => p.partNumber)).toEqual([2, 1]);
  });

  it.each([
    ['garbage', 'not xml at all'],
    ['unclosed', '<CompleteMultipartUpload><Part>'],
    ['wrong root', '<Foo><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Foo>'],
    ['empty list', '<CompleteMultipartUpload></CompleteMultipartUpload>'],
    ['self-closing', '<CompleteMultipartUpload/>'],
    [
      'missing ETag',
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
    ],
    [
      'non-numeric number',
      '<CompleteMultipartUpload><Part><PartNumber>a</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
    ],
    [
      'negative number',
      '<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
    ],
    ['doctype', '<!DOCTYPE x [<!ENTITY a "b">]><CompleteMultipartUpload/>'],
    ['empty body', ''],
  ])('rejects %s as MalformedXML', (_name, xml) => {
    expect(() => parseCompleteMultipartUpload(xml)).toThrowError(
      expect.objectContaining({ code: 'MalformedXML' }),
    );
  });
});
