/**
 * The storage server's callback signing key (SPEC.md §1.2, DESIGN.md Keys): generated on first
 * start, kept in a key dir (by default the fs store's data dir) as a PKCS#8 PEM (mode 0600), reused on every later start so app
 * servers that cache the public key keep verifying. Also decides the key URL that goes (base64)
 * into `x-oss-pub-key-url` and serves the SPKI PEM at that URL's path.
 *
 * Invariant: at most one key file ever exists per key dir; concurrent first starts agree on it
 * (the file is published with link(2), which never overwrites).
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export type CallbackKeyBits = 1024 | 2048 | 4096;

/** The file name inside the key dir. */
export const CALLBACK_KEY_FILE = 'callback-private-key.pem';

/** Path the server serves the public key at (the canonical OSS file name, §1.2). */
export const CALLBACK_PUBLIC_KEY_PATH = '/callback_pub_key_v1.pem';

/**
 * The URL official verifiers accept (§1.2 prefix check). Only useful when that host is pointed at
 * this server (hosts file / DNS override), over plain http so no certificate is needed.
 */
export const CANONICAL_CALLBACK_KEY_URL = 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem';

export interface CallbackKey {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, what `GET /callback_pub_key_v1.pem` returns. */
  readonly publicKeyPem: string;
  /** Modulus length of the key actually in use (a stored key wins over the requested size). */
  readonly bits: number;
}

export interface LoadCallbackKeyOptions {
  /** Size of a newly generated key; default 2048 (DESIGN.md Keys). Ignored when a key exists. */
  bits?: CallbackKeyBits;
}

/**
 * Loads `<keyDir>/callback-private-key.pem`, generating it first when missing. FIDELITY: a stored
 * key is kept even when `bits` asks for another size: replacing it would break every app server that
 * cached the old public key (SPEC §1.2 "the key content never changes").
 * @throws Error when the file exists but is not an RSA private key
 */
export async function loadCallbackKey(
  keyDir: string,
  options: LoadCallbackKeyOptions = {},
): Promise<CallbackKey> {
  const path = join(keyDir, CALLBACK_KEY_FILE);
  let pem = await readIfExists(path);
  if (pem === undefined) {
    await mkdir(keyDir, { recursive: true });
    const { privateKey } = await generateKeyPairAsync('rsa', {
      modulusLength: options.bits ?? 2048,
      publicExponent: 0x10001,
    });
    const fresh = privateKey.export({ type: 'pkcs8', format: 'pem' });
    // Write under a unique name, then link: a concurrent first start either wins or sees EEXIST
    // and uses the winner's key; a crash never leaves a half-written key under the real name.
    const temp = `${path}.${randomUUID()}.tmp`;
    await writeFile(temp, fresh, { mode: 0o600, flag: 'wx' });
    try {
      await link(temp, path);
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    } finally {
      await unlink(temp);
    }
    pem = await readFile(path, 'utf8');
  }
  return fromPrivateKeyPem(pem, path);
}

/**
 * Reads a callback signing key kept outside any data dir (`upcall server --callback-key-file`), so
 * several server processes sign with one key and any of them serves its public half.
 * @throws Error naming the file when it cannot be read or is not an RSA private key PEM
 */
export async function readCallbackKeyFile(path: string): Promise<CallbackKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`callback key file ${path} cannot be read: ${reason}`, { cause: error });
  }
  return fromPrivateKeyPem(pem, `callback key file ${path}`);
}

/** Builds a CallbackKey from a PKCS#8 (or PKCS#1) PEM; `source` names it in errors. */
export function fromPrivateKeyPem(pem: string, source = 'callback key'): CallbackKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${source} is not a PEM private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new Error(`${source} is not an RSA key (${privateKey.asymmetricKeyType ?? 'unknown'})`);
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKeyPem, bits: privateKey.asymmetricKeyDetails?.modulusLength ?? 0 };
}

/**
 * The default key URL: this server's own `/callback_pub_key_v1.pem`. `host` is the address app
 * servers can reach the storage server at (the bind address, or the advertised endpoint).
 */
export function defaultCallbackKeyUrl(host: string, port: number): string {
  const literal = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${literal}:${port}${CALLBACK_PUBLIC_KEY_PATH}`;
}

/**
 * Whether a request asks for the public key: `GET`/`HEAD` of exactly the key path, in path style
 * (bucket names cannot contain `_`, so this never shadows a bucket) or on the key URL's own host
 * (e.g. `gosspublic.alicdn.com` pointed at this server, which would otherwise look like the
 * virtual-host bucket `gosspublic`). A virtual-host GET of an object named
 * `callback_pub_key_v1.pem` on any other host stays a GetObject.
 */
export function isCallbackKeyRequest(
  request: { method: string; rawPath: string; virtualHostBucket: string | undefined; hostname: string },
  keyUrl: string,
): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (request.rawPath !== CALLBACK_PUBLIC_KEY_PATH) return false;
  if (request.virtualHostBucket === undefined) return true;
  try {
    return new URL(keyUrl).hostname.toLowerCase() === request.hostname.toLowerCase();
  } catch {
    return false;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
