/**
 * The credential endpoints of the `upcall dev` app server, in the formats of the official samples
 * (SPEC.md §10), so the browser demo and real mobile/web clients can be pointed at it:
 *
 *   GET /sts, /api/sts      {StatusCode, AccessKeyId, AccessKeySecret, SecurityToken, Expiration}
 *                            (§10.1): temporary credentials limited to `demo/` in the dev bucket,
 *                            upload actions only, and every upload must send exactly the callback
 *                            in the reply's extra `Callback` field (URL, template, body type).
 *   GET /api/post-policy    {accessid, host, policy, signature, expire, callback, dir} (§10.2);
 *                            `?version=4` gives the V4 bundle. Keys under `demo/web/`, 100 MiB max,
 *                            the callback bound into the policy.
 *
 * Both are built with the client kit (post-policy.ts, temporary-credentials.ts); the root secret
 * never leaves the server. Invariant: every credential handed out requires the callback, so each
 * demo upload reaches the receiver and shows on the dashboard.
 */
import type { FastifyInstance } from 'fastify';
import { callbackParameterFingerprint } from '../callback/callback-fingerprint.ts';
import { buildCallbackParams, type CallbackParams } from '../client/callback-params.ts';
import { buildPostPolicyBundle } from '../client/post-policy.ts';
import {
  mintTemporaryCredentials,
  temporaryCredentialsReply,
  UPLOAD_ACTIONS,
} from '../client/temporary-credentials.ts';

export interface DevCredentialOptions {
  /** The storage server as browsers reach it. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** The receiver's callback URL; known once it listens. */
  callbackUrl: () => string;
  now?: () => Date;
}

export const DEMO_PREFIX = 'demo/';
const WEB_DIR = `${DEMO_PREFIX}web/`;
const CREDENTIAL_TTL_SECONDS = 900;
const POLICY_TTL_SECONDS = 300;
const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** The callback template of demo uploads: system facts plus the demo page's `x:` fields. */
export const DEMO_CALLBACK_BODY = [
  'bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}',
  'imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}&imageInfo.format=${imageInfo.format}',
  'x:device=${x:device}&x:app_version=${x:app_version}&x:location=${x:location}',
].join('&');

export function registerDevCredentialRoutes(app: FastifyInstance, options: DevCredentialOptions): void {
  const now = options.now ?? (() => new Date());
  // The one callback every credential and policy binds (issue 14): URL, template and body type.
  const demoCallback = (): CallbackParams =>
    buildCallbackParams({
      url: options.callbackUrl(),
      body: DEMO_CALLBACK_BODY,
      bodyType: 'application/x-www-form-urlencoded',
    });
  const sts = (): ReturnType<typeof temporaryCredentialsReply> & { Callback: string } => {
    const callback = demoCallback();
    return {
      ...temporaryCredentialsReply(
        mintTemporaryCredentials({
          rootAccessKeyId: options.accessKeyId,
          rootAccessKeySecret: options.accessKeySecret,
          policy: {
            bucket: options.bucket,
            prefix: DEMO_PREFIX,
            actions: UPLOAD_ACTIONS,
            callbackUrl: options.callbackUrl(),
            callbackFingerprint: callbackParameterFingerprint(callback.callback),
            expiresInSeconds: CREDENTIAL_TTL_SECONDS,
          },
          now: now(),
        }),
      ),
      // The x-oss-callback value every upload with these credentials must send.
      Callback: callback.callback,
    };
  };
  app.get('/sts', async () => sts());
  app.get('/api/sts', async () => sts());
  app.get<{ Querystring: { version?: string } }>('/api/post-policy', async (request) =>
    buildPostPolicyBundle({
      credentials: { accessKeyId: options.accessKeyId, accessKeySecret: options.accessKeySecret },
      host: `${options.endpoint}/${options.bucket}`,
      bucket: options.bucket,
      dir: WEB_DIR,
      expiresInSeconds: POLICY_TTL_SECONDS,
      maxSize: MAX_UPLOAD_BYTES,
      now: now(),
      callback: demoCallback(),
      lockCallback: true,
      signatureVersion: request.query.version === '4' ? 4 : 1,
    }),
  );
}
