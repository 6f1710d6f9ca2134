/**
 * Who may store a PostObject form, decided from the form itself (OSS PostObject carries its
 * credentials in fields, not in an Authorization header):
 * - no signature fields at all: an anonymous upload, allowed only into a public-read-write bucket;
 * - `OSSAccessKeyId` + `policy` + `Signature` (V1) or the V4 fields (`x-oss-signature-version`,
 *   `x-oss-credential`, `x-oss-date`, `x-oss-signature`): a signed upload whose policy must hold.
 *
 * Invariant: this is the only place a PostObject is authorized; it runs before a single byte of
 * the file is stored, and its content-length-range is what limits the stored size.
 */
import { ossError } from '../shared/oss-error.ts';
import { ANONYMOUS, type Principal } from './principal.ts';
import type { ServerDeps } from './request-context.ts';

export interface PostFormAccess {
  principal: Principal;
  /** The policy's `content-length-range`, inclusive, when it has one. */
  contentLength?: { min: number; max: number };
}

export interface PostFormAuthInput {
  /** Form fields, lower-case names, as post-object-form.ts collects them. */
  fields: ReadonlyMap<string, string>;
  bucket: string;
  /** The object key after `${filename}` substitution. */
  key: string;
  now: Date;
}

/** Fields that mark a form as signed (lower-case). */
const SIGNATURE_FIELDS = [
  'ossaccesskeyid',
  'policy',
  'signature',
  'x-oss-signature-version',
  'x-oss-credential',
  'x-oss-date',
  'x-oss-signature',
  'x-oss-security-token',
];

/** @throws AccessDenied | NoSuchBucket | the policy and signature errors of a signed form */
export async function authorizePostForm(
  input: PostFormAuthInput,
  deps: Pick<ServerDeps, 'store'>,
): Promise<PostFormAccess> {
  const signed = SIGNATURE_FIELDS.some((name) => input.fields.has(name));
  const info = await deps.store.getBucket(input.bucket);
  if (!signed) {
    if (info.acl !== 'public-read-write') {
      throw ossError('AccessDenied', {
        message: 'You have no right to access this bucket because of bucket acl.',
      });
    }
    return { principal: ANONYMOUS };
  }
  // FIDELITY: signed forms need the post-policy verifier (src/shared/post-policy.ts); until it is
  // wired here they are refused rather than trusted.
  throw ossError('AccessDenied', { message: 'Signed PostObject forms are not accepted by this server yet.' });
}
