/**
 * What of a URL may go into a log line (docs/operations.md "Logs"). Callback URLs are written by
 * uploaders and app servers routinely put a token in them (`?token=…`, `https://user:pass@…`), so
 * a logged URL keeps its scheme, host, port, path and query parameter names, never a password or
 * a query value.
 */
export const REDACTED = '[REDACTED]';

export function redactUrl(url: URL | string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return REDACTED;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '';
    parsed.password = '';
  }
  if (parsed.search === '') return parsed.href;
  const names = [...new Set([...parsed.searchParams.keys()])];
  parsed.search = '';
  // Names stay readable (`?token=[REDACTED]`); URLSearchParams would percent-encode the brackets.
  return `${parsed.href}?${names.map((name) => `${encodeURIComponent(name)}=${REDACTED}`).join('&')}`;
}
