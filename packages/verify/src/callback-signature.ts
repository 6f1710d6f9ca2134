/**
 * The callback signature, shared by the signer (storage server) and the verifier (receiver) so
 * the two ends cannot drift (SPEC.md §1.1):
 *
 *   string_to_sign = percent_decode(path) + ("?" + raw_query, only when a query exists) + "\n" + body
 *   Authorization  = base64(RSASSA-PKCS1-v1_5(MD5, string_to_sign))
 *
 * Works on bytes: the body is never decoded or re-serialised. Pure: keys are passed in.
 */
import type * as CryptoModule from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

type NodeCrypto = typeof CryptoModule;

let crypto: NodeCrypto | undefined;
/**
 * node:crypto, loaded at the first sign, verify or key parse rather than at import: loading it
 * costs an importing app several milliseconds of start-up even when no callback ever arrives
 * (about 40 of node's internal modules: streams, webcrypto, …; bench/findings.md, issue 19).
 * node:module adds two small ones, its loader being loaded already. Internal: not exported from
 * the package's index.
 */
export function nodeCrypto(): NodeCrypto {
  return (crypto ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto);
}

/** node:crypto's callback forms (they run on the libuv threadpool) as promises. */
function signAsync(data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    nodeCrypto().sign('md5', data, key, (error, signature) => (error ? reject(error) : resolve(signature))),
  );
}

function verifyAsync(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) =>
    nodeCrypto().verify('md5', data, key, signature, (error, ok) => (error ? reject(error) : resolve(ok))),
  );
}

/**
 * Splits a request-target (`/path?query`) into the bytes OSS signs. Only the path is
 * percent-decoded, and `+` stays `+` (SPEC.md §1.1: the official Node/Go/Python verifiers agree).
 * FIDELITY: OSS's exact decoder is unknown; undecodable `%` sequences are kept verbatim.
 */
export function callbackStringToSign(target: string, body: Uint8Array): Buffer {
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q); // includes the "?"
  const head = `${percentDecode(rawPath)}${query}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

function percentDecode(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Signs synchronously. Prefer `signCallbackAsync` on a server: it runs on the libuv threadpool. */
export function signCallback(target: string, body: Uint8Array, privateKey: KeyObject): string {
  return nodeCrypto().sign('md5', callbackStringToSign(target, body), privateKey).toString('base64');
}

/** Signs off the event loop (node:crypto's async form runs on the threadpool; DESIGN.md Keys). */
export async function signCallbackAsync(
  target: string,
  body: Uint8Array,
  privateKey: KeyObject,
): Promise<string> {
  return (await signAsync(callbackStringToSign(target, body), privateKey)).toString('base64');
}

/** Checks an Authorization value. A malformed signature is simply `false`, never a throw. */
export function verifyCallbackSignature(
  target: string,
  body: Uint8Array,
  authorization: string,
  publicKey: KeyObject,
): boolean {
  const signature = decodeSignature(authorization);
  if (!signature) return false;
  try {
    return nodeCrypto().verify('md5', callbackStringToSign(target, body), publicKey, signature);
  } catch {
    return false;
  }
}

export async function verifyCallbackSignatureAsync(
  target: string,
  body: Uint8Array,
  authorization: string,
  publicKey: KeyObject,
): Promise<boolean> {
  const signature = decodeSignature(authorization);
  if (!signature) return false;
  try {
    return await verifyAsync(callbackStringToSign(target, body), publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Canonical padded base64 only: what decodes and encodes back to the same text. FIDELITY: OSS
 * sends canonical padded base64; base64url, unpadded or non-canonical text is a mismatch here,
 * where the official samples' decoders are lenient. Node's decoder
 * alone would skip stray characters; this check costs a third of a regular expression's over the
 * 344 characters of an RSA-2048 signature (bench/findings.md).
 */
function decodeSignature(authorization: string): Buffer | undefined {
  const text = authorization.trim();
  if (text.length === 0 || text.length % 4 !== 0) return undefined;
  const signature = Buffer.from(text, 'base64');
  return signature.toString('base64') === text ? signature : undefined;
}
