/**
 * The receiver's credential endpoints in the official sample formats (SPEC.md §10):
 *   GET /sts, /api/sts      → {StatusCode, AccessKeyId, AccessKeySecret, SecurityToken, Expiration}
 *   GET /api/post-policy    → {accessid, host, policy, signature, expire, callback, dir}
 *                             (`?version=4`: the V4 fields instead of accessid)
 * Both are scoped to one user's key prefix (`?user=` or `x-upcall-user`, one-to-one) and bind the
 * whole callback, URL, body template and body type (the STS token carries its fingerprint and the
 * server refuses any other callback; the post policy locks the `callback` field), so the app hears
 * of every upload and the callback body's fields are the server's, not the uploader's (issue 14). Minting and policy signing are the client/shared
 * modules' (`mintTemporaryCredentials`, `buildPostPolicyBundle`); this file only decides scope.
 */
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callbackParameterFingerprint } from '../../callback/callback-fingerprint.ts';
import { buildCallbackParams, type CallbackParams } from '../../client/callback-params.ts';
import { buildPostPolicyBundle } from '../../client/post-policy.ts';
import { mintTemporaryCredentials, type TemporaryAction } from '../../shared/security-token.ts';
import { UPLOAD_ACTIONS } from '../../client/temporary-credentials.ts';

export interface ReceiverCredentials {
  /** The root key the endpoints sign and mint with. Never sent to clients. */
  accessKeyId: string;
  accessKeySecret: string;
  bucket: string;
  /** The storage endpoint, e.g. `http://127.0.0.1:9000` (upcall) or `https://oss-cn-hangzhou.aliyuncs.com`. */
  endpoint: string;
  /** Where uploads must call back. Default: this receiver's own callback URL. */
  callbackUrl?: string;
  /**
   * The callbackBody template bound into every credential and policy issued (form-encoded).
   * Default DEFAULT_POLICY_CALLBACK_BODY: all upload facts.
   */
  callbackBody?: string;
  /**
   * Where browsers post forms. Default: `<scheme>://<bucket>.<endpoint host>` for DNS names,
   * path style `<endpoint>/<bucket>` for IP addresses and localhost (no wildcard DNS there).
   */
  postHost?: string;
  /** V4 signing region without `oss-`. Default `cn-hangzhou`. */
  region?: string;
  /** Default 900 s (15 min, the mobile samples' usual). */
  stsExpiresInSeconds?: number;
  /** Default 300 s. */
  policyExpiresInSeconds?: number;
  /**
   * Largest file a post policy admits, bytes (its `content-length-range`). Default
   * DEFAULT_POST_POLICY_MAX_SIZE: a policy without a bound would let a browser fill the bucket
   * with one form.
   */
  maxSize?: number;
  /** Key prefix of a user. Default `uploads/<user>/`. */
  dir?: (user: string) => string;
  /** Who is asking. Default the `user` query parameter, else the `x-upcall-user` header, else `anonymous`. */
  user?: (request: FastifyRequest) => string | undefined;
  /** What STS credentials allow. Default: UPLOAD_ACTIONS (single and multipart uploads). */
  actions?: readonly TemporaryAction[];
}

/** The default `content-length-range` upper bound of issued post policies: 100 MiB. */
export const DEFAULT_POST_POLICY_MAX_SIZE = 100 * 1024 * 1024;

export const DEFAULT_POLICY_CALLBACK_BODY =
  'bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}' +
  '&imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}&imageInfo.format=${imageInfo.format}';

/** Longest user id accepted, in UTF-8 bytes; longer ids are refused, never truncated. */
export const MAX_USER_ID_BYTES = 128;

/**
 * Turns a user id into one key-path segment, injectively (issue 14: `alice@x.com` and
 * `alice_x.com`, or two long ids sharing a truncated prefix, must never share a prefix): letters,
 * digits and `-` stay, a `.` stays unless it leads (so no `.`/`..` segment), and every other UTF-8
 * byte, `_` included, becomes `_` plus two lower-case hex digits. `_` only ever starts an escape,
 * so the segment decodes back to exactly one id. Empty ids and ids over MAX_USER_ID_BYTES are
 * refused (undefined).
 */
export function sanitiseUserId(raw: string): string | undefined {
  const bytes = Buffer.from(raw, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_USER_ID_BYTES) return undefined;
  let id = '';
  for (const [i, byte] of bytes.entries()) {
    const char = String.fromCharCode(byte);
    id +=
      /[A-Za-z0-9-]/.test(char) || (char === '.' && i > 0) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return id;
}

export function defaultPostHost(endpoint: string, bucket: string): string {
  const url = new URL(endpoint);
  const origin = `${url.protocol}//${url.host}`;
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0 || url.hostname === 'localhost') {
    return `${origin}/${bucket}`;
  }
  return `${url.protocol}//${bucket}.${url.host}`;
}

export function registerCredentialEndpoints(
  app: FastifyInstance,
  credentials: ReceiverCredentials,
  deps: { callbackUrl: () => string | undefined; now: () => number },
): void {
  const dirOf = credentials.dir ?? ((user: string) => `uploads/${user}/`);
  const userOf = (request: FastifyRequest): string | undefined => {
    if (credentials.user) return credentials.user(request);
    const query = (request.query as Record<string, unknown>).user;
    if (typeof query === 'string') return query;
    const header = request.headers['x-upcall-user'];
    return typeof header === 'string' ? header : 'anonymous';
  };
  const scope = (request: FastifyRequest): { dir: string; callbackUrl: string } | { error: string } => {
    const raw = userOf(request);
    const user = raw === undefined ? undefined : sanitiseUserId(raw);
    if (user === undefined) return { error: 'The user id is missing or not usable as a key prefix.' };
    const callbackUrl = credentials.callbackUrl ?? deps.callbackUrl();
    if (callbackUrl === undefined) return { error: 'The receiver does not know its callback URL yet.' };
    return { dir: dirOf(user), callbackUrl };
  };

  // The one callback every credential and policy binds (issue 14): URL, template and body type.
  const issuedCallback = (callbackUrl: string): CallbackParams =>
    buildCallbackParams({
      url: callbackUrl,
      body: credentials.callbackBody ?? DEFAULT_POLICY_CALLBACK_BODY,
      bodyType: 'application/x-www-form-urlencoded',
    });

  const sts = async (request: FastifyRequest, reply: FastifyReply) => {
    const s = scope(request);
    if ('error' in s) {
      return reply.code(400).send({ StatusCode: 400, ErrorCode: 'InvalidArgument', ErrorMessage: s.error });
    }
    try {
      const callback = issuedCallback(s.callbackUrl);
      const minted = mintTemporaryCredentials({
        rootAccessKeyId: credentials.accessKeyId,
        rootAccessKeySecret: credentials.accessKeySecret,
        policy: {
          bucket: credentials.bucket,
          prefix: s.dir,
          actions: credentials.actions ?? UPLOAD_ACTIONS,
          callbackUrl: s.callbackUrl,
          callbackFingerprint: callbackParameterFingerprint(callback.callback),
          expiresInSeconds: credentials.stsExpiresInSeconds ?? 900,
        },
        now: new Date(deps.now()),
      });
      // SPEC.md §10.1: these keys, StatusCode first, as the mobile SDK parsers expect; then
      // `Callback`, the x-oss-callback value every upload with these credentials must send.
      return {
        StatusCode: 200,
        AccessKeyId: minted.AccessKeyId,
        AccessKeySecret: minted.AccessKeySecret,
        SecurityToken: minted.SecurityToken,
        Expiration: minted.Expiration,
        Callback: callback.callback,
      };
    } catch (err) {
      request.log.error({ err }, 'minting temporary credentials failed');
      return reply.code(500).send({
        StatusCode: 500,
        ErrorCode: 'InternalError',
        ErrorMessage: 'Could not issue temporary credentials.',
      });
    }
  };
  app.get('/sts', sts);
  app.get('/api/sts', sts);

  app.get('/api/post-policy', async (request, reply) => {
    const s = scope(request);
    if ('error' in s) return reply.code(400).send({ error: 'InvalidArgument', message: s.error });
    const version = (request.query as Record<string, unknown>).version;
    if (version !== undefined && version !== '1' && version !== '4') {
      return reply.code(400).send({ error: 'InvalidArgument', message: '"version" must be 1 or 4.' });
    }
    const callback = issuedCallback(s.callbackUrl);
    return buildPostPolicyBundle({
      credentials: { accessKeyId: credentials.accessKeyId, accessKeySecret: credentials.accessKeySecret },
      host: credentials.postHost ?? defaultPostHost(credentials.endpoint, credentials.bucket),
      bucket: credentials.bucket,
      dir: s.dir,
      expiresInSeconds: credentials.policyExpiresInSeconds ?? 300,
      now: new Date(deps.now()),
      maxSize: credentials.maxSize ?? DEFAULT_POST_POLICY_MAX_SIZE,
      callback,
      lockCallback: true,
      signatureVersion: version === '4' ? 4 : 1,
      region: credentials.region,
    });
  });
}
