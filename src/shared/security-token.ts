/**
 * Temporary credentials, STS-style but stateless (DESIGN.md "Temporary credentials"): whoever holds
 * a root key mints `{AccessKeyId: 'STS.…', AccessKeySecret, SecurityToken, Expiration}` offline, and
 * the server verifies them with nothing but the root secret.
 *
 *   SecurityToken   = base64url(JSON payload) + '.' + base64url(HMAC-SHA256(root secret, that text))
 *   payload         = { v: 1, rk: root key id, ak: temporary key id, exp: unix s, p: policy }
 *   AccessKeySecret = base64url(HMAC-SHA256(root secret, 'upcall-sts-secret\n' + temporary key id))
 *
 * Invariants: the token is integrity-protected by the root secret, so its policy and expiry cannot
 * be changed without the root key; the temporary secret is re-derived from the token, never stored;
 * the expiry is checked only after the MAC, so an attacker learns nothing from the error code.
 * Pure apart from the default source of randomness (the clock always comes in as `now`).
 *
 * Usage (app server, §10.1 reply):
 *   const creds = mintTemporaryCredentials({ rootAccessKeyId, rootAccessKeySecret,
 *     policy: { bucket: 'photos', prefix: 'user-42/', actions: ['PutObject'],
 *               callbackUrl: 'http://app.internal/oss-callback', expiresInSeconds: 900 },
 *     now: new Date() });
 */
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './constant-time-equal.ts';
import { ossError } from './oss-error.ts';

/** Operations a temporary credential may be allowed (OSS RAM action names without `oss:`). */
export const TEMPORARY_ACTIONS = [
  'GetObject',
  'HeadObject',
  'GetObjectMeta',
  'PutObject',
  'PostObject',
  'AppendObject',
  'CopyObject',
  'DeleteObject',
  'DeleteMultipleObjects',
  'ListObjects',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'ListMultipartUploads',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'RestoreObject',
] as const;

export type TemporaryAction = (typeof TEMPORARY_ACTIONS)[number];

export interface TemporaryPolicy {
  bucket: string;
  /** Keys the credential may touch start with this (empty or absent: the whole bucket). */
  prefix?: string | undefined;
  actions: readonly TemporaryAction[];
  /**
   * When set, every upload (PutObject, PostObject, AppendObject, CompleteMultipartUpload) must carry
   * an upload callback whose URL starts with this text, so the app server hears of every upload.
   */
  callbackUrl?: string | undefined;
  /**
   * When set, every upload must carry exactly this callback: the fingerprint of its URLs, Host,
   * body template and body type (src/callback/callback-fingerprint.ts). The app that issued the
   * credentials then knows the callback body's fields were filled in by the server, not written
   * by the uploader (issue 14).
   */
  callbackFingerprint?: string | undefined;
}

export interface MintInput {
  rootAccessKeyId: string;
  rootAccessKeySecret: string;
  policy: TemporaryPolicy & { expiresInSeconds: number };
  now: Date;
  /** 16 random bytes for the temporary key id; defaults to crypto.randomBytes. */
  random?: () => Buffer;
}

export interface TemporaryCredentials {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  /** ISO 8601 without milliseconds, e.g. `2017-12-12T07:49:09Z` (SPEC.md §10.1). */
  Expiration: string;
}

interface TokenPayload {
  v: 1;
  rk: string;
  ak: string;
  exp: number;
  p: TemporaryPolicy;
}

const SECRET_LABEL = 'upcall-sts-secret\n';

function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('base64url');
}

export function deriveTemporarySecret(rootAccessKeySecret: string, temporaryAccessKeyId: string): string {
  return mac(rootAccessKeySecret, SECRET_LABEL + temporaryAccessKeyId);
}

export function mintTemporaryCredentials(input: MintInput): TemporaryCredentials {
  const { expiresInSeconds, ...policy } = input.policy;
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new RangeError('expiresInSeconds must be a positive integer');
  }
  const accessKeyId = `STS.${(input.random ?? (() => randomBytes(16)))().toString('base64url')}`;
  const exp = Math.floor(input.now.getTime() / 1000) + expiresInSeconds;
  const payload: TokenPayload = {
    v: 1,
    rk: input.rootAccessKeyId,
    ak: accessKeyId,
    exp,
    p: {
      bucket: policy.bucket,
      actions: [...policy.actions],
      ...(policy.prefix === undefined ? {} : { prefix: policy.prefix }),
      ...(policy.callbackUrl === undefined ? {} : { callbackUrl: policy.callbackUrl }),
      ...(policy.callbackFingerprint === undefined
        ? {}
        : { callbackFingerprint: policy.callbackFingerprint }),
    },
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return {
    AccessKeyId: accessKeyId,
    AccessKeySecret: deriveTemporarySecret(input.rootAccessKeySecret, accessKeyId),
    SecurityToken: `${body}.${mac(input.rootAccessKeySecret, body)}`,
    Expiration: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export interface VerifiedSecurityToken {
  accessKeySecret: string;
  rootAccessKeyId: string;
  policy: TemporaryPolicy;
  expiration: Date;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Structural check of a decoded policy (also used on `Principal.policy`, typed unknown). */
export function isTemporaryPolicy(value: unknown): value is TemporaryPolicy {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p['bucket'] === 'string' &&
    isStringArray(p['actions']) &&
    p['actions'].every((a) => (TEMPORARY_ACTIONS as readonly string[]).includes(a)) &&
    (p['prefix'] === undefined || typeof p['prefix'] === 'string') &&
    (p['callbackUrl'] === undefined || typeof p['callbackUrl'] === 'string') &&
    (p['callbackFingerprint'] === undefined || typeof p['callbackFingerprint'] === 'string')
  );
}

function parsePayload(body: string): TokenPayload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (p['v'] !== 1 || typeof p['rk'] !== 'string' || typeof p['ak'] !== 'string') return undefined;
  if (typeof p['exp'] !== 'number' || !isTemporaryPolicy(p['p'])) return undefined;
  return value as TokenPayload;
}

/**
 * Verifies a SecurityToken presented with `accessKeyId`.
 * FIDELITY: OSS's codes for a forged STS token are undocumented; a token that does not parse, names
 * an unknown root key or fails its MAC is `InvalidSecurityToken`; a valid token presented with
 * another access key id is `InvalidAccessKeyId`; an expired one is `SecurityTokenExpired`.
 * @throws OssError InvalidSecurityToken | InvalidAccessKeyId | SecurityTokenExpired
 */
export function verifySecurityToken(
  token: string,
  accessKeyId: string,
  lookupRootSecret: (rootAccessKeyId: string) => string | undefined,
  now: Date,
): VerifiedSecurityToken {
  const dot = token.indexOf('.');
  const body = dot > 0 ? token.slice(0, dot) : '';
  const payload = body === '' ? undefined : parsePayload(body);
  const rootSecret = payload === undefined ? undefined : lookupRootSecret(payload.rk);
  if (
    payload === undefined ||
    rootSecret === undefined ||
    !constantTimeEqual(mac(rootSecret, body), token.slice(dot + 1))
  ) {
    throw ossError('InvalidSecurityToken');
  }
  if (payload.ak !== accessKeyId) {
    throw ossError('InvalidAccessKeyId', { details: { OSSAccessKeyId: accessKeyId } });
  }
  const expiration = new Date(payload.exp * 1000);
  if (now.getTime() >= expiration.getTime()) {
    throw ossError('SecurityTokenExpired', {
      details: { Expiration: expiration.toISOString(), ServerTime: now.toISOString() },
    });
  }
  return {
    accessKeySecret: deriveTemporarySecret(rootSecret, payload.ak),
    rootAccessKeyId: payload.rk,
    policy: payload.p,
    expiration,
  };
}

export interface ActionRequest {
  action: TemporaryAction;
  bucket: string | undefined;
  key?: string | undefined;
  /** For ListObjects / ListMultipartUploads: the `prefix` query parameter (the key is absent). */
  listPrefix?: string | undefined;
  /** The upload's callback URL(s), when the request carries a callback. */
  callbackUrls?: readonly string[] | undefined;
  /** The fingerprint of the upload's callback (callback-fingerprint.ts), when it carries one. */
  callbackFingerprint?: string | undefined;
}

const LIST_ACTIONS: ReadonlySet<TemporaryAction> = new Set(['ListObjects', 'ListMultipartUploads']);

const UPLOAD_ACTIONS: ReadonlySet<TemporaryAction> = new Set([
  'PutObject',
  'PostObject',
  'AppendObject',
  'CompleteMultipartUpload',
]);

/**
 * Enforces a temporary credential's policy on one operation.
 * @throws OssError AccessDenied with a message saying which part of the policy refused it
 */
export function checkTemporaryPolicy(policy: TemporaryPolicy, request: ActionRequest): void {
  const deny = (why: string) =>
    ossError('AccessDenied', { message: `Access denied by the security token policy: ${why}` });
  if (!policy.actions.includes(request.action)) throw deny(`the action ${request.action} is not allowed.`);
  if (request.bucket !== policy.bucket)
    throw deny(`the bucket ${request.bucket ?? '(none)'} is not allowed.`);
  const prefix = policy.prefix ?? '';
  // A listing names no key; it is inside the policy when its own prefix is.
  const scoped = LIST_ACTIONS.has(request.action) ? request.listPrefix : request.key;
  if (prefix !== '' && !(scoped ?? '').startsWith(prefix)) {
    throw deny(`only keys starting with "${prefix}" are allowed.`);
  }
  if (policy.callbackUrl !== undefined && UPLOAD_ACTIONS.has(request.action)) {
    const required = policy.callbackUrl;
    const urls = request.callbackUrls ?? [];
    if (urls.length === 0 || !urls.every((url) => url.startsWith(required))) {
      throw deny(`an upload callback to ${required} is required.`);
    }
  }
  // FIDELITY: OSS STS policies cannot bind a callback; upcall's token may bind the whole of it.
  if (
    policy.callbackFingerprint !== undefined &&
    UPLOAD_ACTIONS.has(request.action) &&
    request.callbackFingerprint !== policy.callbackFingerprint
  ) {
    throw deny(
      'the upload callback (callbackUrl, callbackBody, callbackBodyType, callbackHost) must be exactly the one these credentials were issued with.',
    );
  }
}
