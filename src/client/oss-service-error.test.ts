import { describe, expect, it } from 'vitest';
import { parseOssServiceError } from './oss-service-error.ts';

describe('parseOssServiceError', () => {
  it('reads the 203 CallbackFailed document of SPEC.md §6.2', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>CallbackFailed</Code>
  <Message>Error status : 301.</Message>
  <RequestId>5C3D9175B6FC201293AD****</RequestId>
  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>
  <EC>0007-00000203</EC>
  <RecommendDoc>https://api.aliyun.com/troubleshoot?q=0007-00000203</RecommendDoc>
</Error>`;
    const error = parseOssServiceError(203, xml, {});
    expect(error.code).toBe('CallbackFailed');
    expect(error.status).toBe(203);
    expect(error.message).toBe('Error status : 301.');
    expect(error.requestId).toBe('5C3D9175B6FC201293AD****');
    expect(error.ec).toBe('0007-00000203');
    expect(error.details.RecommendDoc).toContain('0007-00000203');
  });

  it('reads the base64 x-oss-err header of a bodiless reply', () => {
    const xml =
      '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a</Key></Error>';
    const error = parseOssServiceError(404, '', { 'x-oss-err': Buffer.from(xml).toString('base64') });
    expect(error.code).toBe('NoSuchKey');
    expect(error.details).toEqual({ Key: 'a' });
  });

  it('never throws on a body that is not error XML', () => {
    const error = parseOssServiceError(502, '<html>Bad gateway</html>', { 'x-oss-request-id': 'r1' });
    expect(error.code).toBe('UnknownError');
    expect(error.message).toContain('Bad gateway');
    expect(error.requestId).toBe('r1');
    expect(parseOssServiceError(500, '<Error><Code>', {}).code).toBe('UnknownError');
  });
});
