import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseErrorDocument, s3ErrorFromResponse } from './s3-errors.ts';

describe('s3ErrorFromResponse', () => {
  it('takes the code and request id from the <Error> document, keeping its message out of the error message', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
      '<Message>key secret/a.txt mentioned</Message><StringToSign>AWS4-HMAC-SHA256 …</StringToSign>' +
      '<RequestId>tx123</RequestId></Error>';
    const error = s3ErrorFromResponse('GetObject', 403, body, 'header-id');
    expect(error.code).toBe('SignatureDoesNotMatch');
    expect(error.requestId).toBe('tx123');
    expect(error.engineMessage).toBe('key secret/a.txt mentioned');
    expect(error.message).toBe(
      'GetObject: the S3 engine answered 403 SignatureDoesNotMatch (request id tx123)',
    );
  });

  it('names the status when there is no document (HEAD, a proxy page)', () => {
    expect(s3ErrorFromResponse('HeadBucket', 404, '', undefined).code).toBe('NotFound');
    expect(s3ErrorFromResponse('GetObject', 502, '<html>Bad Gateway</html>', 'r1')).toMatchObject({
      code: 'BadGateway',
      requestId: 'r1',
    });
    expect(s3ErrorFromResponse('GetObject', 418, 'teapot', undefined).code).toBe('HTTP418');
  });
});

describe('parseErrorDocument', () => {
  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, inner) => {
        parseErrorDocument(`${before}<Error>${inner}</Error>`);
        parseErrorDocument(before);
        return true;
      }),
    );
  });

  it('ignores documents that are not an S3 error', () => {
    expect(parseErrorDocument('<CopyObjectResult><ETag>"x"</ETag></CopyObjectResult>')).toBeUndefined();
    expect(parseErrorDocument('<Error><Code></Code></Error>')).toBeUndefined();
    expect(parseErrorDocument('<Error><Code>InternalError</Code></Error>')?.code).toBe('InternalError');
  });
});
