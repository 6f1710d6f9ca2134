/**
 * Reads a captured callback request for `upcall verify`, in the forms people actually have:
 * - a raw HTTP request (request line, headers, blank line, body), e.g. from `nc -l`, a proxy
 *   dump or the receiver dashboard's "copy raw request";
 * - a headers file (optionally starting with the request line) plus a separate body file, e.g.
 *   `curl -D` style dumps or headers copied from a log.
 * Invariant: the body bytes are kept exactly as captured (the signature covers them, SPEC.md
 * §1.1); only header lines are decoded as text.
 */
export interface CapturedRequest {
  method: string | undefined;
  target: string | undefined;
  headers: Record<string, string>;
  body: Buffer;
}

const REQUEST_LINE = /^([A-Z]+) (\S+)(?: HTTP\/\d(?:\.\d)?)?$/;

/** Header lines (and an optional request line) → method, target and lower-case headers. */
export function parseHeaderBlock(text: string): Omit<CapturedRequest, 'body'> {
  const lines = text.split(/\r?\n/);
  let method: string | undefined;
  let target: string | undefined;
  const headers: Record<string, string> = {};
  for (const [index, raw] of lines.entries()) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const requestLine = index === 0 || method === undefined ? REQUEST_LINE.exec(line) : null;
    if (requestLine && Object.keys(headers).length === 0) {
      method = requestLine[1];
      target = requestLine[2];
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { method, target, headers };
}

/** A whole raw HTTP request; the body is everything after the first empty line, byte for byte. */
export function parseRawRequest(bytes: Buffer): CapturedRequest {
  let end = bytes.indexOf('\r\n\r\n');
  let gap = 4;
  const lf = bytes.indexOf('\n\n');
  if (end === -1 || (lf !== -1 && lf < end)) {
    end = lf;
    gap = 2;
  }
  const head = end === -1 ? bytes.toString('latin1') : bytes.subarray(0, end).toString('latin1');
  const body = end === -1 ? Buffer.alloc(0) : bytes.subarray(end + gap);
  return { ...parseHeaderBlock(head), body };
}
