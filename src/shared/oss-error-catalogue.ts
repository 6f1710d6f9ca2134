/**
 * The OSS error catalogue: every error code upcall can put on the wire, with the HTTP status and
 * the message real OSS sends (SPEC.md, OSS API "Error responses"; S3-compatible wording where OSS
 * reuses it). Code names are wire names. `docs/errors.md` lists the same codes; a test keeps the
 * two in step. Add a code here before using it anywhere.
 */
export const OSS_ERRORS = {
  // 400
  InvalidArgument: { status: 400, message: 'Invalid Argument.' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidObjectName: { status: 400, message: 'The name of the object is invalid.' },
  KeyTooLong: { status: 400, message: 'Your key is too long.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  InvalidCRC64: {
    status: 400,
    message: 'The CRC64 you specified did not match what we received.',
  },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  // FIDELITY: OSS documents tag errors (EC 0010-00000216…219) without naming their code; the S3 code
  // OSS's tagging API mirrors is used.
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  // OSS PutBucketEncryption: an SSEAlgorithm (or x-oss-server-side-encryption) that is neither AES256 nor KMS.
  InvalidEncryptionAlgorithmError: {
    status: 400,
    message: 'The Encryption request you specified is not valid. Supported value: AES256/KMS.',
  },
  InvalidEncodingType: { status: 400, message: 'The encoding type is invalid.' },
  InvalidMaxKeys: { status: 400, message: 'Argument max-keys is not valid.' },
  InvalidTargetType: { status: 400, message: 'The symlink target object type is not supported.' },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message:
      'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload smaller than the minimum allowed object size.',
  },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  InvalidPolicyDocument: {
    status: 400,
    message: 'The content of the form does not meet the conditions specified in the policy document.',
  },
  IncorrectNumberOfFilesInPOSTRequest: {
    status: 400,
    message: 'POST requires exactly one file upload per request.',
  },
  MalformedPOSTRequest: {
    status: 400,
    message: 'The body of your POST request is not well-formed multipart/form-data.',
  },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingArgument: { status: 400, message: 'Missing Some Required Arguments.' },
  InvalidRequest: { status: 400, message: 'Invalid Request.' },
  OperationNotSupported: { status: 400, message: 'The operation is not supported for this resource.' },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  },
  PositionNotEqualToLength: { status: 409, message: 'Position is not equal to file length' },
  ObjectNotAppendable: { status: 409, message: 'The operation is not valid for this object.' },
  InvalidSecurityToken: { status: 403, message: 'The security token you provided is invalid.' },
  // 403
  AccessDenied: { status: 403, message: 'AccessDenied' },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The OSS Access Key Id you provided does not exist in our records.',
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: 'The difference between the request time and the current time is too large.',
  },
  SecurityTokenExpired: { status: 403, message: 'The security token you provided has expired.' },
  // FIDELITY: the wording of the three RestoreObject-related errors is S3's (OSS documents the codes
  // and statuses, not the messages).
  InvalidObjectState: { status: 403, message: "The operation is not valid for the object's state" },
  // A CORS preflight no rule allows (OSS Options); OSS's own wording, typo included.
  AccessForbidden: {
    status: 403,
    message:
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  },
  // 404
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  BucketCallbackPolicyNotExist: { status: 404, message: 'The callback policy does not exist.' },
  // FIDELITY: GetBucketCors on a bucket without rules; the S3 wording OSS mirrors.
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS Configuration does not exist.' },
  // GetBucketLifecycle on a bucket without rules: OSS's code (oss2.exceptions.NoSuchLifecycle) and
  // the message real OSS sends.
  NoSuchLifecycle: { status: 404, message: 'No Row found in Lifecycle Table.' },
  // FIDELITY: GetBucketEncryption on a bucket without a default; OSS's code, its wording is not documented.
  NoSuchServerSideEncryptionRule: {
    status: 404,
    message: 'The server side encryption configuration was not found.',
  },
  // 405
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  // 409
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty.' },
  RestoreAlreadyInProgress: { status: 409, message: 'The restore operation is in progress.' },
  FileAlreadyExists: {
    status: 409,
    message: 'The object you specified already exists and can not be overwritten.',
  },
  // 412 / 304 / 416
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the pre-conditions you specified did not hold.',
  },
  NotModified: { status: 304, message: 'Not Modified' },
  InvalidRange: { status: 416, message: 'The requested range cannot be satisfied.' },
  // 203: the upload is stored, the callback failed (SPEC.md §6.2)
  CallbackFailed: { status: 203, message: 'Callback failed.' },
  // 5xx
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  NotImplemented: {
    status: 501,
    message: 'A header you provided implies functionality that is not implemented.',
  },
  ServiceUnavailable: { status: 503, message: 'Please reduce your request rate.' },
  // FIDELITY: OSS never runs out of space and has no such error. 507 (RFC 4918 §11.5) is what
  // MinIO answers at its minimum-free-space threshold (XMinioStorageFull); 503 would tell SDKs to
  // retry at once, which cannot help until something is deleted.
  InsufficientStorage: {
    status: 507,
    message:
      'The server has reached its minimum free space: delete objects or abort multipart uploads to proceed.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type OssErrorCode = keyof typeof OSS_ERRORS;
