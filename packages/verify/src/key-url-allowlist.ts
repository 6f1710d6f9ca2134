/**
 * Decides whether a callback's public-key URL may be fetched (SPEC.md §1.2 key URL check).
 *
 * Every entry is one exact key URL (issue 14, item 1). The official verifiers accept any URL
 * under `http(s)://gosspublic.alicdn.com/`, and older upcall docs told users to allow a storage
 * server's origin the same way. But an upcall server serves user objects under every path of its
 * origin (`/<bucket>/<key>`, and `/<key>` for a virtual-host name such as a hosts-file
 * `gosspublic.alicdn.com`): with a prefix, anyone allowed to upload could store their own key as
 * a public-read object and sign callbacks with it. So a bare origin (`http://127.0.0.1:9000` or
 * `http://127.0.0.1:9000/`) means that origin's key URL, `<origin>/callback_pub_key_v1.pem`, and
 * nothing else; any other entry ending in `/` is refused, naming the exact URL to give instead.
 * FIDELITY: stricter than the official prefix check (docs/compatibility.md).
 *
 * Matching is on the parsed URL (scheme, host, port, path), so neither a userinfo trick
 * (`http://gosspublic.alicdn.com@evil/`), a look-alike host (`gosspublic.alicdn.com.evil.com`),
 * another port, nor a backslash or dot-segment trick can reach a URL the allowlist does not name.
 * Invariant: a URL is allowed only if the URL that will actually be fetched (the parsed `href`) is
 * an allowlisted key URL.
 */

/** The path of the key file, at OSS (SPEC.md §1.2) and on every upcall server. */
export const CALLBACK_KEY_PATH = '/callback_pub_key_v1.pem';

/** The official key URLs (SPEC.md §1.2), over http and https. */
export const DEFAULT_KEY_URL_ALLOWLIST: readonly string[] = [
  'http://gosspublic.alicdn.com/callback_pub_key_v1.pem',
  'https://gosspublic.alicdn.com/callback_pub_key_v1.pem',
];

export interface KeyUrlAllowlist {
  /** The URL to fetch (normalised) when `keyUrl` is allowed, else undefined. */
  match(keyUrl: string): URL | undefined;
  /** The entries as given. */
  readonly prefixes: readonly string[];
  /** The key URLs the entries name (a bare origin resolved to its key URL), for messages. */
  readonly describe: readonly string[];
}

/** @throws TypeError for an entry that is not an http(s) URL, or a prefix (path ending in `/`) */
export function createKeyUrlAllowlist(entries: readonly string[]): KeyUrlAllowlist {
  const allowed = entries.map(parseEntry);
  const set = new Set(allowed);
  return {
    prefixes: [...entries],
    describe: allowed,
    match(keyUrl) {
      let url: URL;
      try {
        url = new URL(keyUrl);
      } catch {
        return undefined;
      }
      if (url.username !== '' || url.password !== '') return undefined;
      return set.has(url.href) ? url : undefined;
    },
  };
}

/** The exact key URL an entry names. */
function parseEntry(entry: string): string {
  let url: URL;
  try {
    url = new URL(entry);
  } catch (cause) {
    throw new TypeError(`Key URL allowlist entry is not a URL: ${entry}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Key URL allowlist entry must be http(s): ${entry}`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError(`Key URL allowlist entry must be scheme://host[:port]/path only: ${entry}`);
  }
  // A bare origin, as older docs told users to give for `upcall server`: its key URL only.
  if (url.pathname === '/') return new URL(CALLBACK_KEY_PATH, url).href;
  if (url.pathname.endsWith('/')) {
    throw new TypeError(
      `Key URL allowlist entry ${entry} is a prefix: it would trust any key file a user can store ` +
        `under it. Give the exact key URL, e.g. ${new URL(CALLBACK_KEY_PATH, url).href}, or the ` +
        `bare origin ${url.origin} for that origin's ${CALLBACK_KEY_PATH}.`,
    );
  }
  return url.href;
}
