/**
 * Signing a PostObject policy (SPEC.md §8.3 "Post signature", §10.2): the browser form carries the
 * base64 policy and its signature, the server (server/post-object-auth.ts) recomputes it.
 *
 *   policy (form field) = base64(UTF-8(JSON.stringify(document)))
 *   V1 Signature        = base64(HMAC-SHA1(secret, policy))            (ali-oss calculatePostSignature)
 *   V4 x-oss-signature  = hex(HMAC-SHA256(V4 signing key, policy))     (ali-oss signPostObjectPolicyV4)
 *
 * Pure. Invariant: byte-for-byte what ali-oss computes (post-policy.test.ts uses it as the oracle).
 */
import { v1Signature } from './signature-v1.ts';
import { v4Signature, type V4Scope } from './signature-v4.ts';

/** The condition forms of an OSS policy document. */
export type PostPolicyCondition =
  | Readonly<Record<string, string>>
  | readonly ['eq' | 'starts-with', string, string]
  | readonly ['content-length-range', number, number]
  | readonly ['in' | 'not-in', string, readonly string[]];

export interface PostPolicyDocument {
  /** ISO 8601 UTC, e.g. `2026-11-23T10:15:00.000Z`. */
  expiration: string;
  conditions: readonly PostPolicyCondition[];
}

/** The `policy` form field: base64 of the document's JSON text. */
export function encodePostPolicy(document: PostPolicyDocument): string {
  return Buffer.from(JSON.stringify(document), 'utf8').toString('base64');
}

/** The V1 `Signature` form field. */
export function signPostPolicyV1(accessKeySecret: string, policyBase64: string): string {
  return v1Signature(accessKeySecret, policyBase64);
}

/** The V4 `x-oss-signature` form field: the policy text is the string to sign. */
export function signPostPolicyV4(accessKeySecret: string, scope: V4Scope, policyBase64: string): string {
  return v4Signature(accessKeySecret, scope, policyBase64);
}
