/**
 * Explains a 203 CallbackFailed (SPEC.md §5.2, §6.2) in terms of what to fix. The object is
 * stored either way; these are the classic reasons the app server's reply was not accepted.
 */
export function callbackFailureHint(message: string): string {
  if (/reply timeout|Cost too long/i.test(message)) {
    return 'the app server did not answer within 5 s; reply first, do slow work afterwards.';
  }
  if (/Error status : -1/i.test(message)) {
    return 'the storage server could not connect to the callback URL; is the app server running and reachable from the storage server (not just from your browser)?';
  }
  if (/Error status : 502/i.test(message)) {
    return 'the connection to the callback URL failed (refused, reset or TLS); check the port, and --callback-sni for https hosts that need SNI.';
  }
  if (/not valid json/i.test(message)) {
    return 'the app server must answer 200 with a JSON body (e.g. {"Status":"OK"}), no BOM, with Content-Length.';
  }
  if (/content-length/i.test(message)) {
    return 'the app server reply needs a valid Content-Length (no chunked encoding) of at most 1 MiB.';
  }
  const status = /Error status : (\d+)/i.exec(message)?.[1];
  if (status === '401' || status === '403' || status === '400') {
    return `the app server refused the callback (${status}); if it verifies signatures, check that its key URL allowlist includes the storage server's key URL and that no proxy strips the Authorization header.`;
  }
  if (status !== undefined) {
    return `the app server answered ${status}; OSS requires exactly 200 (redirects are not followed).`;
  }
  return 'see README "Troubleshooting" for the causes of 203 CallbackFailed.';
}
