/**
 * Who may store a PostObject form, decided from the form itself (OSS PostObject carries its
 * credentials in fields, not in an Authorization header):
 * - no signature fields at all: an anonymous upload, allowed only into a public-read-write bucket;
 * - `OSSAccessKeyId` + `policy` + `Signature` (V1) or the V4 fields (`x-oss-signature-version`,
 *   `x-oss-credential`, `x-oss-date`, `x-oss-signature`): a signed upload whose policy must hold
 *   (post-object-policy.ts);
 * - plus `x-oss-security-token`: signed with temporary credentials; the token is verified here and
 *   its own policy (prefix, actions, required callback) is returned for the operation to apply.
 *
 * Invariant: this is the only place a PostObject is authorized; it runs before a single byte of
 * the file is stored, and its content-length-range is what limits the stored size.
 */
import { ossError } from '../../shared/oss-error.ts';
import { verifySecurityToken, type TemporaryPolicy } from '../../shared/security-token.ts';
import { verifyV1Signature } from '../../shared/signature-v1.ts';
import {
  parseV4Credential,
  parseV4Timestamp,
  V4_ALGORITHM,
  verifyV4Signature,
  type V4Scope,
} from '../../shared/signature-v4.ts';
import { checkPostPolicy, parsePostPolicy } from './post-object-policy.ts';
import { ANONYMOUS, type Principal } from '../pipeline/principal.ts';
import type { ServerDeps } from '../pipeline/request-context.ts';

export interface PostFormAccess {
  principal: Principal;
  /**
   * The temporary credential's policy, when the form was signed with one: the operation checks it
   * once it knows the upload's callback (a token may require one, security-token.ts).
   */
  tokenPolicy?: TemporaryPolicy;
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

/**
 * @throws NoSuchBucket | AccessDenied (bucket ACL, expired policy, failed condition) |
 *   InvalidArgument (policy or signature field missing, bad V4 fields) | InvalidPolicyDocument |
 *   InvalidAccessKeyId | SignatureDoesNotMatch
 */
export async function authorizePostForm(
  input: PostFormAuthInput,
  deps: Pick<ServerDeps, 'store' | 'credentials'>,
): Promise<PostFormAccess> {
  const { fields } = input;
  const signed = SIGNATURE_FIELDS.some((name) => fields.has(name));
  const info = await deps.store.getBucket(input.bucket);
  if (!signed) {
    if (info.acl !== 'public-read-write') {
      throw ossError('AccessDenied', {
        message: 'You have no right to access this bucket because of bucket acl.',
      });
    }
    return { principal: ANONYMOUS };
  }

  const policyText = requiredField(fields, 'policy');
  const policy = parsePostPolicy(policyText);
  const signer = formSigner(fields);
  const { secret, principal, tokenPolicy } = signingIdentity(fields, signer.accessKeyId, input.now, deps);
  const valid =
    signer.version === 1
      ? verifyV1Signature(secret, policyText, signer.signature)
      : verifyV4Signature(secret, signer.scope, policyText, signer.signature);
  if (!valid) {
    throw ossError('SignatureDoesNotMatch', {
      details: {
        StringToSign: policyText,
        SignatureProvided: signer.signature,
        OSSAccessKeyId: signer.accessKeyId,
      },
    });
  }
  const { contentLength } = checkPostPolicy(policy, { fields, bucket: input.bucket }, input.now);
  return {
    principal,
    ...(tokenPolicy !== undefined && { tokenPolicy }),
    ...(contentLength !== undefined && { contentLength }),
  };
}

/**
 * The secret the form was signed with: a root key's, or, with `x-oss-security-token`, the
 * temporary key's secret re-derived from the verified token.
 * @throws InvalidAccessKeyId | InvalidSecurityToken | SecurityTokenExpired
 */
function signingIdentity(
  fields: ReadonlyMap<string, string>,
  accessKeyId: string,
  now: Date,
  deps: Pick<ServerDeps, 'credentials'>,
): { secret: string; principal: Principal; tokenPolicy?: TemporaryPolicy } {
  const lookup = (id: string): string | undefined => deps.credentials?.(id);
  const token = fields.get('x-oss-security-token');
  if (token !== undefined && token !== '') {
    const verified = verifySecurityToken(token, accessKeyId, lookup, now);
    return {
      secret: verified.accessKeySecret,
      principal: { kind: 'temporary', accessKeyId, policy: verified.policy },
      tokenPolicy: verified.policy,
    };
  }
  const secret = lookup(accessKeyId);
  if (secret === undefined)
    throw ossError('InvalidAccessKeyId', { details: { OSSAccessKeyId: accessKeyId } });
  return { secret, principal: { kind: 'root', accessKeyId } };
}

type FormSigner =
  | { version: 1; accessKeyId: string; signature: string }
  | { version: 4; accessKeyId: string; signature: string; scope: V4Scope };

/** Who signed the form and how: the V4 fields when `x-oss-signature-version` is present, else V1. */
function formSigner(fields: ReadonlyMap<string, string>): FormSigner {
  const version = fields.get('x-oss-signature-version');
  if (version === undefined) {
    return {
      version: 1,
      accessKeyId: requiredField(fields, 'ossaccesskeyid'),
      signature: requiredField(fields, 'signature'),
    };
  }
  if (version !== V4_ALGORITHM) {
    throw ossError('InvalidArgument', {
      message: `x-oss-signature-version must be ${V4_ALGORITHM}.`,
      details: { ArgumentName: 'x-oss-signature-version', ArgumentValue: version },
    });
  }
  const credentialText = requiredField(fields, 'x-oss-credential');
  const credential = parseV4Credential(credentialText);
  if (credential === undefined) {
    throw ossError('InvalidArgument', {
      message: 'x-oss-credential must be <AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request.',
      details: { ArgumentName: 'x-oss-credential', ArgumentValue: credentialText },
    });
  }
  const date = requiredField(fields, 'x-oss-date');
  if (parseV4Timestamp(date) === undefined || !date.startsWith(credential.scope.date)) {
    throw ossError('InvalidArgument', {
      message: 'x-oss-date must be yyyymmddTHHMMSSZ on the day of the x-oss-credential scope.',
      details: { ArgumentName: 'x-oss-date', ArgumentValue: date },
    });
  }
  return {
    version: 4,
    accessKeyId: credential.accessKeyId,
    signature: requiredField(fields, 'x-oss-signature'),
    scope: credential.scope,
  };
}

function requiredField(fields: ReadonlyMap<string, string>, name: string): string {
  const value = fields.get(name);
  if (value === undefined || value === '') {
    // FIDELITY: OSS's wording for a signed form missing one of its signature fields is not
    // documented; upcall answers S3's InvalidArgument.
    throw ossError('InvalidArgument', {
      message: `Bucket POST must contain a field named '${name}'. If it is specified, please check the order of the fields.`,
      details: { ArgumentName: name, ArgumentValue: '' },
    });
  }
  return value;
}
