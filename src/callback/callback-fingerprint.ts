/**
 * A fingerprint of what a callback asks the storage server to send: its URLs, Host, body template
 * and body type (SPEC.md §2.2), so temporary credentials can commit to one callback (issue 14,
 * item 2). The signature of a callback proves only that the storage server sent it; the body says
 * whatever its template said, and whoever uploads writes the template. Credentials that carry
 * this fingerprint make the server refuse any other callback, so the app that issued them knows
 * the body's fields were filled in by the server.
 *
 * Not covered, on purpose: `callbackSNI` (transport only) and the `x:` variables (they are the
 * uploader's values by design; a template that uses them vouches for nothing in them).
 * Pure: SHA-256 over a canonical JSON array, base64url.
 */
import { createHash } from 'node:crypto';
import { parseCallback, type CallbackSpec } from './parse-callback.ts';

export function callbackFingerprint(spec: Pick<CallbackSpec, 'urls' | 'host' | 'body' | 'bodyType'>): string {
  const canonical = JSON.stringify([
    spec.urls.map((url) => url.href),
    spec.host ?? null,
    spec.body,
    spec.bodyType,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/**
 * The fingerprint of a base64 callback parameter (the `x-oss-callback` value), as the server will
 * compute it for an upload that sends exactly that parameter.
 * @throws OssError InvalidArgument when the parameter is not a valid callback
 */
export function callbackParameterFingerprint(callback: string): string {
  const spec = parseCallback({ header: callback });
  if (spec === undefined) throw new TypeError('An empty callback parameter has no fingerprint.');
  return callbackFingerprint(spec);
}
