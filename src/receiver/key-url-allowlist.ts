/**
 * Decides whether a callback's public-key URL may be fetched (SPEC.md §1.2 prefix check).
 *
 * The official verifiers do a plain string `startsWith`. We compare on the parsed URL instead
 * (scheme, host, port, path prefix) AND require the raw string prefix, so neither a userinfo
 * trick (`http://gosspublic.alicdn.com@evil/`), a look-alike host
 * (`gosspublic.alicdn.com.evil.com`), another port, nor a backslash or dot-segment trick can
 * reach a host the allowlist does not name. Invariant: a URL is allowed only if the URL that will
 * actually be fetched (the parsed `href`) is under an allowlisted prefix.
 */

/** The official key host (SPEC.md §1.2). Dev setups add the local upcall key URL. */
export const DEFAULT_KEY_URL_ALLOWLIST: readonly string[] = [
  'http://gosspublic.alicdn.com/',
  'https://gosspublic.alicdn.com/',
];

interface ParsedPrefix {
  readonly raw: string;
  readonly protocol: string;
  readonly host: string; // hostname + non-default port, lower case
  readonly pathPrefix: string;
}

export interface KeyUrlAllowlist {
  /** The URL to fetch (normalised) when `keyUrl` is allowed, else undefined. */
  match(keyUrl: string): URL | undefined;
  readonly prefixes: readonly string[];
}

export function createKeyUrlAllowlist(prefixes: readonly string[]): KeyUrlAllowlist {
  const parsed = prefixes.map(parsePrefix);
  return {
    prefixes: [...prefixes],
    match(keyUrl) {
      let url: URL;
      try {
        url = new URL(keyUrl);
      } catch {
        return undefined;
      }
      if (url.username !== '' || url.password !== '') return undefined;
      for (const p of parsed) {
        if (
          keyUrl.startsWith(p.raw) &&
          url.protocol === p.protocol &&
          url.host === p.host &&
          url.pathname.startsWith(p.pathPrefix)
        ) {
          return url;
        }
      }
      return undefined;
    },
  };
}

function parsePrefix(prefix: string): ParsedPrefix {
  let url: URL;
  try {
    url = new URL(prefix);
  } catch (cause) {
    throw new TypeError(`Key URL allowlist entry is not a URL: ${prefix}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Key URL allowlist entry must be http(s): ${prefix}`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError(`Key URL allowlist entry must be scheme://host[:port]/path only: ${prefix}`);
  }
  // A prefix without a path separator after the host would let `http://host.evil` match
  // `http://host`, so the path always ends the host part.
  const raw = url.pathname === '/' && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  return { raw, protocol: url.protocol, host: url.host, pathPrefix: url.pathname };
}
