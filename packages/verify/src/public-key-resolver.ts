/**
 * Turns the key URL a callback names into an RSA public key (SPEC.md §1.2), safely and cheaply.
 *
 * Owns: the allowlist check, the fetch (Node's global fetch, so the package needs no HTTP client
 * of its own: timeout, size cap, no redirects), PEM parsing and a per-URL cache. Invariants:
 * - nothing is fetched unless the allowlist matches (the header is attacker-controlled: SSRF);
 * - a cached key is returned without re-fetching or re-parsing PEM (the docs say the key never
 *   changes, SPEC.md §1.2), so a verification costs one RSA verify;
 * - concurrent requests for one URL share one in-flight fetch;
 * - a failed fetch is remembered only for `failureTtlMs`, then retried;
 * - with a pinned key nothing is ever fetched and the URL is ignored.
 */
import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from './callback-signature.ts';
import { CallbackVerificationError } from './callback-verification-error.ts';
import { createKeyUrlAllowlist, DEFAULT_KEY_URL_ALLOWLIST } from './key-url-allowlist.ts';

export interface PublicKeyResolver {
  /**
   * Resolves the decoded key URL (the value of `x-oss-pub-key-url` after base64) to a key.
   * @throws CallbackVerificationError bad-key-url | key-host-not-allowed | key-fetch-failed | bad-public-key
   */
  resolve(keyUrl: string | undefined): Promise<KeyObject>;
  /** The cached key for this URL, if any; never fetches. Lets hot paths skip a promise. */
  peek(keyUrl: string | undefined): KeyObject | undefined;
  /**
   * The key URL an `x-oss-pub-key-url` header names (decodeKeyUrlHeader). Optional: the verifier
   * decodes the header itself when a resolver has none. The built-in resolvers remember the last
   * header, since every callback from one storage server names the same URL.
   * @throws CallbackVerificationError bad-key-url
   */
  keyUrlOf?(header: string | undefined): string | undefined;
}

/**
 * The part of WHATWG `fetch` the resolver uses, declared here so the package needs neither the
 * DOM library's types nor an HTTP client: Node's global fetch, undici's and any web runtime's fit.
 */
export type KeyFetch = (
  url: string,
  init: { method: 'GET'; redirect: 'manual'; signal: AbortSignal; headers: Record<string, string> },
) => Promise<KeyFetchResponse>;

export interface KeyFetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** fetch's `Response.body`; any async iterable of bytes will do (Node's web streams are). */
  readonly body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `x-oss-pub-key-url` is standard padded base64 of the URL (SPEC.md §1.2); absent or blank is
 * undefined (resolve then says the header is missing, unless the key is pinned).
 * @throws CallbackVerificationError bad-key-url
 */
export function decodeKeyUrlHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new CallbackVerificationError('bad-key-url', 'The x-oss-pub-key-url header is not base64.');
  }
  return Buffer.from(text, 'base64').toString('utf8');
}

/** decodeKeyUrlHeader, remembering the last header decoded (one per resolver, never shared). */
function lastKeyUrlMemo(): (header: string | undefined) => string | undefined {
  let lastHeader: string | undefined;
  let lastKeyUrl: string | undefined;
  return (header) => {
    if (header !== undefined && header === lastHeader) return lastKeyUrl;
    const keyUrl = decodeKeyUrlHeader(header);
    lastHeader = header;
    lastKeyUrl = keyUrl;
    return keyUrl;
  };
}

export interface PublicKeyResolverOptions {
  /**
   * Key URLs that may be fetched, each exact (a bare origin means its `/callback_pub_key_v1.pem`;
   * key-url-allowlist.ts). Default: the official gosspublic.alicdn.com key URL, http and https.
   */
  keyUrlAllowlist?: readonly string[];
  /** A pinned key (PEM text or KeyObject): no fetching at all, the key URL is ignored. */
  publicKey?: string | Uint8Array | KeyObject;
  /** Whole-fetch deadline. Default 5000 ms. */
  timeoutMs?: number;
  /** Largest accepted key document. Default 16 KiB (a 4096-bit PEM is about 800 bytes). */
  maxKeyBytes?: number;
  /** How long a failed fetch is remembered before the next try. Default 5000 ms. */
  failureTtlMs?: number;
  /** Most distinct key URLs kept. Default 64. */
  maxCachedKeys?: number;
  /**
   * The fetch the key is requested with. Default: Node's global `fetch`. Give your own to route
   * the request differently (a proxy, a hosts override, a custom connection pool); it is called
   * with `redirect: 'manual'` and an abort signal, and must not follow redirects itself.
   */
  fetch?: KeyFetch;
  now?: () => number;
}

type CacheEntry =
  | { readonly state: 'ready'; readonly key: KeyObject }
  | { readonly state: 'pending'; readonly promise: Promise<KeyObject> }
  | { readonly state: 'failed'; readonly error: CallbackVerificationError; readonly until: number };

export function createPublicKeyResolver(options: PublicKeyResolverOptions = {}): PublicKeyResolver {
  if (options.publicKey !== undefined) {
    if (options.keyUrlAllowlist !== undefined) {
      throw new TypeError('Give either publicKey (pinned) or keyUrlAllowlist, not both.');
    }
    const pinned = toRsaPublicKey(options.publicKey);
    const resolved = Promise.resolve(pinned);
    return { resolve: () => resolved, peek: () => pinned, keyUrlOf: lastKeyUrlMemo() };
  }
  return createFetchingResolver(options);
}

function createFetchingResolver(options: PublicKeyResolverOptions): PublicKeyResolver {
  const allowlist = createKeyUrlAllowlist(options.keyUrlAllowlist ?? DEFAULT_KEY_URL_ALLOWLIST);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxKeyBytes = options.maxKeyBytes ?? 16 * 1024;
  const failureTtlMs = options.failureTtlMs ?? 5000;
  const maxCachedKeys = options.maxCachedKeys ?? 64;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();

  function remember(keyUrl: string, entry: CacheEntry): void {
    cache.delete(keyUrl);
    cache.set(keyUrl, entry);
    while (cache.size > maxCachedKeys) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  async function fetchKey(keyUrl: string, url: URL): Promise<KeyObject> {
    try {
      const key = await fetchPublicKey(url, { timeoutMs, maxKeyBytes, fetch: options.fetch ?? globalFetch });
      remember(keyUrl, { state: 'ready', key });
      return key;
    } catch (err) {
      const error =
        err instanceof CallbackVerificationError
          ? err
          : new CallbackVerificationError(
              'key-fetch-failed',
              `Could not fetch the public key from ${url.href}.`,
              {
                cause: err,
              },
            );
      remember(keyUrl, { state: 'failed', error, until: now() + failureTtlMs });
      throw error;
    }
  }

  return {
    keyUrlOf: lastKeyUrlMemo(),
    peek(keyUrl) {
      if (keyUrl === undefined) return undefined;
      const entry = cache.get(keyUrl);
      return entry?.state === 'ready' ? entry.key : undefined;
    },
    resolve(keyUrl) {
      if (keyUrl === undefined || keyUrl === '') {
        return Promise.reject(
          new CallbackVerificationError('bad-key-url', 'The x-oss-pub-key-url header is missing.'),
        );
      }
      const entry = cache.get(keyUrl);
      if (entry?.state === 'ready') return Promise.resolve(entry.key);
      if (entry?.state === 'pending') return entry.promise;
      if (entry?.state === 'failed' && entry.until > now()) return Promise.reject(entry.error);
      const url = allowlist.match(keyUrl);
      if (url === undefined) {
        return Promise.reject(
          new CallbackVerificationError(
            'key-host-not-allowed',
            `The public key URL is not an allowed key URL (${allowlist.describe.join(', ')}).`,
          ),
        );
      }
      const promise = fetchKey(keyUrl, url);
      remember(keyUrl, { state: 'pending', promise });
      return promise;
    },
  };
}

interface FetchOptions {
  timeoutMs: number;
  maxKeyBytes: number;
  fetch: KeyFetch;
}

/** Node's global fetch, looked up when a key is first fetched: importing the package stays cheap. */
const globalFetch: KeyFetch = (url, init) => fetch(url, init);

async function fetchPublicKey(url: URL, options: FetchOptions): Promise<KeyObject> {
  const fail = (why: string, cause?: unknown): CallbackVerificationError =>
    new CallbackVerificationError(
      'key-fetch-failed',
      `Could not fetch the public key from ${url.href}: ${why}.`,
      {
        cause,
      },
    );
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const failure = (why: string, err: unknown): CallbackVerificationError =>
    fail(timedOut ? `timed out after ${options.timeoutMs} ms` : why, err);
  try {
    let response: KeyFetchResponse;
    try {
      // redirect 'manual': a 3xx from an allowed key URL comes back as it is, so it cannot bounce
      // the fetch to a host the allowlist does not name (it is refused below).
      response = await options.fetch(url.href, {
        method: 'GET',
        redirect: 'manual',
        signal: controller.signal,
        headers: { accept: 'application/x-pem-file, text/plain, */*' },
      });
    } catch (err) {
      throw failure('connection failed', err);
    }
    const { status, headers, body } = response;
    if (status !== 200) {
      throw fail(
        `HTTP status ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`,
      );
    }
    const declared = Number(headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > options.maxKeyBytes) {
      throw fail(`key document larger than ${options.maxKeyBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      if (body !== null) {
        // Node's ReadableStream is async iterable; the DOM library's type does not say so.
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > options.maxKeyBytes) throw fail(`key document larger than ${options.maxKeyBytes} bytes`);
          chunks.push(chunk);
        }
      }
    } catch (err) {
      if (err instanceof CallbackVerificationError) throw err;
      throw failure('body read failed', err);
    }
    return toRsaPublicKey(Buffer.concat(chunks));
  } finally {
    // Aborting also releases an unread or half-read body and its connection.
    clearTimeout(timer);
    controller.abort();
  }
}

/** Parses PEM (SPKI or PKCS#1) or takes a KeyObject; anything but an RSA public key is refused. */
export function toRsaPublicKey(input: string | Uint8Array | KeyObject): KeyObject {
  const { createPublicKey, KeyObject } = nodeCrypto();
  let key: KeyObject;
  try {
    key =
      input instanceof KeyObject
        ? input
        : createPublicKey(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
  } catch (cause) {
    throw new CallbackVerificationError('bad-public-key', 'The key document is not a PEM public key.', {
      cause,
    });
  }
  if (key.type === 'private') {
    // Accept a private key handed in by mistake only as its public half; never keep the secret.
    key = createPublicKey(key);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CallbackVerificationError('bad-public-key', 'The public key is not an RSA key.');
  }
  return key;
}
