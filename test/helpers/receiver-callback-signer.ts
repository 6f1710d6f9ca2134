/**
 * Plays OSS for receiver tests: signs callbacks with a generated key (SPEC.md §1.1 via the shared
 * `signCallback`) and sends them with the §4 headers over a real socket. The key's SPKI PEM is
 * what a test's key server serves at an allowlisted URL.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { getGlobalDispatcher } from 'undici';
import { signCallback } from '../../src/callback/callback-signature.ts';

export interface CallbackSigner {
  publicKeyPem: string;
  privateKey: KeyObject;
  /** The §4 headers for this target and body, signed. */
  headers(target: string, body: Uint8Array, options?: SignOptions): Record<string, string>;
}

export interface SignOptions {
  contentType?: string;
  keyUrl?: string;
  bucket?: string;
  requestId?: string;
}

export function createCallbackSigner(defaults: { keyUrl: string; modulusLength?: number }): CallbackSigner {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: defaults.modulusLength ?? 2048,
  });
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    headers(target, body, options = {}) {
      return {
        authorization: signCallback(target, body, privateKey),
        'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
        'content-md5': createHash('md5').update(body).digest('base64'),
        date: new Date().toUTCString(),
        'user-agent': 'aliyun-oss-callback',
        'x-oss-bucket': options.bucket ?? 'test-bucket',
        'x-oss-owner': '1050784833268046',
        'x-oss-requester': '1050784833268046',
        'x-oss-pub-key-url': Buffer.from(options.keyUrl ?? defaults.keyUrl).toString('base64'),
        'x-oss-request-id': options.requestId ?? '5CF3E7821AB22D0FDB86704D',
        'x-oss-signature-version': '1.0',
        'x-oss-tag': 'CALLBACK',
      };
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** Sends a request with the target exactly as given (no URL normalisation). */
export async function sendRaw(
  origin: string,
  options: { method?: string; target: string; headers?: Record<string, string>; body?: Uint8Array | string },
): Promise<RawResponse> {
  // Dispatcher.request sends `path` verbatim; the top-level request() would parse it as a URL.
  const res = await getGlobalDispatcher().request({
    origin,
    method: options.method ?? 'POST',
    path: options.target,
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}
