/**
 * The app server's half of a browser PostObject upload (SPEC.md §10.2): a signed policy bundle the
 * browser turns into form fields, so the browser never sees a secret.
 *
 * V1 bundle (the official sample's JSON): `{accessid, host, policy, signature, expire, callback, dir}`
 * V4 bundle (newer samples): `{host, policy, x_oss_signature_version, x_oss_credential, x_oss_date,
 *   signature, expire, callback, dir}`; both add `security_token` when signed with temporary
 *   credentials. `postObjectFormFields` maps a bundle to the form fields OSS reads.
 *
 * Usage:
 *   const bundle = buildPostPolicyBundle({ credentials: { accessKeyId, accessKeySecret },
 *     host: 'http://photos.127.0.0.1.nip.io:9000', bucket: 'photos', dir: 'user-42/',
 *     expiresInSeconds: 300, maxSize: 10 << 20, now: new Date(),
 *     callback: buildCallbackParams({ url: 'http://app/cb', body: 'object=${object}' }) });
 *   // browser: for (const [k, v] of postObjectFormFields(bundle, bundle.dir + file.name)) form.append(k, v)
 *
 * Pure: the clock comes in as `now`.
 */
import {
  encodePostPolicy,
  signPostPolicyV1,
  signPostPolicyV4,
  type PostPolicyCondition,
} from '../shared/post-policy.ts';
import { formatV4Timestamp, v4Credential, V4_ALGORITHM, type V4Scope } from '../shared/signature-v4.ts';
import type { CallbackParams } from './callback-params.ts';

export interface PostPolicyCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** With temporary credentials (temporary-credentials.ts). */
  securityToken?: string | undefined;
}

export interface PostPolicyBundleInput {
  credentials: PostPolicyCredentials;
  /** Where the browser posts, e.g. `http://photos.localhost:9000`. */
  host: string;
  bucket: string;
  /** Keys must start with this (`["starts-with", "$key", dir]`); may be empty. */
  dir: string;
  expiresInSeconds: number;
  now: Date;
  /** `["content-length-range", minSize, maxSize]` when maxSize is given. */
  maxSize?: number | undefined;
  minSize?: number | undefined;
  /** The upload callback, sent as the `callback` field and `x:` variable fields. */
  callback?: CallbackParams | undefined;
  /** Binds the callback into the policy (`["eq", "$callback", …]`) so the browser cannot drop it. */
  lockCallback?: boolean | undefined;
  /** Further conditions, e.g. `["in", "$content-type", ["image/jpeg"]]`. */
  conditions?: readonly PostPolicyCondition[] | undefined;
  /** 1 (default, the classic sample) or 4. */
  signatureVersion?: 1 | 4 | undefined;
  /** V4 only; without `oss-`. Default `cn-hangzhou`. */
  region?: string | undefined;
}

interface BundleCommon {
  host: string;
  policy: string;
  signature: string;
  /** Unix seconds. */
  expire: number;
  dir: string;
  callback?: string;
  /** `x:` variables for the callback, as form fields. */
  callbackVars?: Record<string, string>;
  security_token?: string;
}

export interface PostPolicyBundleV1 extends BundleCommon {
  accessid: string;
}

export interface PostPolicyBundleV4 extends BundleCommon {
  x_oss_signature_version: typeof V4_ALGORITHM;
  x_oss_credential: string;
  x_oss_date: string;
}

export type PostPolicyBundle = PostPolicyBundleV1 | PostPolicyBundleV4;

export function buildPostPolicyBundle(
  input: PostPolicyBundleInput & { signatureVersion?: 1 },
): PostPolicyBundleV1;
export function buildPostPolicyBundle(
  input: PostPolicyBundleInput & { signatureVersion: 4 },
): PostPolicyBundleV4;
export function buildPostPolicyBundle(input: PostPolicyBundleInput): PostPolicyBundle;
export function buildPostPolicyBundle(input: PostPolicyBundleInput): PostPolicyBundle {
  const expire = Math.floor(input.now.getTime() / 1000) + input.expiresInSeconds;
  const conditions: PostPolicyCondition[] = [{ bucket: input.bucket }];
  if (input.dir !== '') conditions.push(['starts-with', '$key', input.dir]);
  if (input.maxSize !== undefined)
    conditions.push(['content-length-range', input.minSize ?? 0, input.maxSize]);
  if (input.callback !== undefined && input.lockCallback === true) {
    conditions.push(['eq', '$callback', input.callback.callback]);
  }
  conditions.push(...(input.conditions ?? []));

  const timestamp = formatV4Timestamp(input.now);
  const scope: V4Scope = {
    date: timestamp.slice(0, 8),
    region: input.region ?? 'cn-hangzhou',
    product: 'oss',
  };
  if (input.signatureVersion === 4) {
    conditions.push(
      { 'x-oss-signature-version': V4_ALGORITHM },
      { 'x-oss-credential': v4Credential(input.credentials.accessKeyId, scope) },
      { 'x-oss-date': timestamp },
    );
  }
  if (input.credentials.securityToken !== undefined) {
    conditions.push({ 'x-oss-security-token': input.credentials.securityToken });
  }
  const policy = encodePostPolicy({ expiration: new Date(expire * 1000).toISOString(), conditions });
  const common: BundleCommon = {
    host: input.host,
    policy,
    signature: '',
    expire,
    dir: input.dir,
    ...(input.callback === undefined ? {} : { callback: input.callback.callback }),
    ...(input.callback === undefined || Object.keys(input.callback.vars).length === 0
      ? {}
      : { callbackVars: { ...input.callback.vars } }),
    ...(input.credentials.securityToken === undefined
      ? {}
      : { security_token: input.credentials.securityToken }),
  };
  if (input.signatureVersion === 4) {
    return {
      ...common,
      signature: signPostPolicyV4(input.credentials.accessKeySecret, scope, policy),
      x_oss_signature_version: V4_ALGORITHM,
      x_oss_credential: v4Credential(input.credentials.accessKeyId, scope),
      x_oss_date: timestamp,
    };
  }
  return {
    ...common,
    signature: signPostPolicyV1(input.credentials.accessKeySecret, policy),
    accessid: input.credentials.accessKeyId,
  };
}

/**
 * The PostObject form fields for one file, in the order the official browser sample appends them
 * (the `file` field goes last, after these).
 */
export function postObjectFormFields(
  bundle: PostPolicyBundle,
  key: string,
  options: { successActionStatus?: string } = {},
): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ['key', key],
    ['policy', bundle.policy],
  ];
  if ('accessid' in bundle) {
    fields.push(['OSSAccessKeyId', bundle.accessid]);
  } else {
    fields.push(
      ['x-oss-signature-version', bundle.x_oss_signature_version],
      ['x-oss-credential', bundle.x_oss_credential],
      ['x-oss-date', bundle.x_oss_date],
    );
  }
  fields.push(['success_action_status', options.successActionStatus ?? '200']);
  if (bundle.callback !== undefined) fields.push(['callback', bundle.callback]);
  for (const [name, value] of Object.entries(bundle.callbackVars ?? {})) fields.push([name, value]);
  if (bundle.security_token !== undefined) fields.push(['x-oss-security-token', bundle.security_token]);
  fields.push(['accessid' in bundle ? 'signature' : 'x-oss-signature', bundle.signature]);
  return fields;
}
