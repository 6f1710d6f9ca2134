/**
 * The callback signature (SPEC.md §1.1) lives once, in the `upcall-verify` package that app servers
 * install on its own; the storage server signs with the same code that verifiers check with, so the
 * two ends cannot drift (DESIGN.md "Signing and verifying live once").
 */
export {
  callbackStringToSign,
  signCallback,
  signCallbackAsync,
  verifyCallbackSignature,
  verifyCallbackSignatureAsync,
} from 'upcall-verify';
