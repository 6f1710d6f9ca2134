/**
 * The only mapping from an error to the wire (STYLE.md §3.6). An OssError becomes
 * `<Error><Code/><Message/><RequestId/><HostId/>…details</Error>` with its catalogue status;
 * anything else is a bug and becomes InternalError 500, logged with the request id and never
 * echoed to the client.
 *
 * HEAD responses carry no body; the same XML goes base64-encoded in `x-oss-err`, which is where
 * ali-oss looks for the code of a body-less error (SPEC.md §8.2).
 */
import type { Logger } from 'pino';
import { isOssError, ossError, type OssError } from '../../shared/oss-error.ts';
import { el, renderXml } from '../../shared/xml.ts';
import type { OssResponse } from './request-context.ts';

export interface ErrorContext {
  requestId: string;
  method: string;
  /** The Host the client addressed, reported as HostId as OSS does. */
  host: string;
  bucket?: string | undefined;
  key?: string | undefined;
}

/**
 * The most of `x-oss-err` a HEAD error may carry: clients read response heads of 16 KiB by default
 * (Node), and the details can echo the whole request (a StringToSign); beyond it, details longer
 * than DETAIL_LIMIT are left out of the header (the code and message always stay).
 */
const ERR_HEADER_LIMIT = 8 * 1024;
const DETAIL_LIMIT = 256;

export function errorResponse(error: unknown, ctx: ErrorContext, logger: Logger): OssResponse {
  const ossErr = toOssError(error, ctx, logger);
  const details = withDefaultDetails(ossErr, ctx);
  const render = (fits: (value: string) => boolean): string =>
    renderXml(
      el(
        'Error',
        el('Code', ossErr.code),
        el('Message', ossErr.message),
        el('RequestId', ctx.requestId),
        el('HostId', ctx.host),
        Object.entries(details)
          .filter(([, value]) => fits(value))
          .map(([name, value]) => el(name, value)),
      ),
    );
  const xml = render(() => true);
  const headers: Record<string, string> = { 'Content-Type': 'application/xml' };
  const ec = ossErr.details['EC'];
  if (ec !== undefined) headers['x-oss-ec'] = ec;
  // AppendObject's 409 tells the client where to append next, in a header as well (ali-oss reads it).
  const nextAppendPosition = ossErr.details['NextAppendPosition'];
  if (nextAppendPosition !== undefined) headers['x-oss-next-append-position'] = nextAppendPosition;
  if (ctx.method === 'HEAD' || ossErr.status === 304) {
    if (ctx.method === 'HEAD') {
      let err = Buffer.from(xml).toString('base64');
      if (err.length > ERR_HEADER_LIMIT) {
        err = Buffer.from(render((value) => value.length <= DETAIL_LIMIT)).toString('base64');
      }
      headers['x-oss-err'] = err;
    }
    return { status: ossErr.status, headers, errorCode: ossErr.code };
  }
  return { status: ossErr.status, headers, body: xml, errorCode: ossErr.code };
}

function toOssError(error: unknown, ctx: ErrorContext, logger: Logger): OssError {
  if (isOssError(error)) return error;
  logger.error({ err: error, requestId: ctx.requestId }, 'unexpected error while handling a request');
  return ossError('InternalError');
}

/** OSS names the missing bucket or key in the error body; the store's errors do not carry them. */
function withDefaultDetails(error: OssError, ctx: ErrorContext): Record<string, string> {
  const names = BUCKET_CODES.has(error.code) ? ctx.bucket : undefined;
  if (names !== undefined && error.details['BucketName'] === undefined) {
    return { BucketName: names, ...error.details };
  }
  if (error.code === 'NoSuchKey' && ctx.key !== undefined && error.details['Key'] === undefined) {
    return { Key: ctx.key, ...error.details };
  }
  return error.details;
}

const BUCKET_CODES: ReadonlySet<string> = new Set(['NoSuchBucket', 'BucketNotEmpty', 'BucketAlreadyExists']);
