/**
 * The one error type of upcall. Every failure that reaches a client is an OssError built from the
 * catalogue (oss-error-catalogue.ts), so codes and statuses can never disagree with the wire.
 * `details` become extra elements of the error XML (e.g. BucketName, Key, UploadId,
 * StringToSign, ArgumentName/ArgumentValue, EC). Callers branch on `code`, never on `message`.
 */
import { OSS_ERRORS, type OssErrorCode } from './oss-error-catalogue.ts';

export type { OssErrorCode } from './oss-error-catalogue.ts';

export class OssError extends Error {
  override readonly name = 'OssError';
  readonly code: OssErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, string>>;

  constructor(code: OssErrorCode, message: string, details: Record<string, string> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = OSS_ERRORS[code].status;
    this.details = details;
  }
}

export interface OssErrorOptions {
  /** Overrides the catalogue message, for codes whose OSS message varies (InvalidArgument, CallbackFailed, AccessDenied). */
  message?: string;
  details?: Record<string, string>;
  cause?: unknown;
}

/** Builds an OssError with the catalogue's status and message. */
export function ossError(code: OssErrorCode, options: OssErrorOptions = {}): OssError {
  return new OssError(code, options.message ?? OSS_ERRORS[code].message, options.details, options.cause);
}

export function isOssError(value: unknown): value is OssError {
  return value instanceof OssError;
}
