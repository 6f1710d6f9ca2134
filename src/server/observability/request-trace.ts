/**
 * What the request pipeline learns about one request, for its log line and its metrics
 * (docs/operations.md "Logs"): filled by dispatch() (target, OSS action) and the HTTP adapter
 * (the OSS error code of the response written), read once the response has finished.
 */
export interface RequestTrace {
  /** The OSS action of the matched route (`PutObject`), or an upcall endpoint's name. */
  action?: string | undefined;
  bucket?: string | undefined;
  key?: string | undefined;
  /** The `<Code>` of an error response (CallbackFailed for a 203). */
  errorCode?: string | undefined;
}
