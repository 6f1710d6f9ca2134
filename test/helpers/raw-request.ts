/**
 * Raw HTTP for what ali-oss cannot express (malformed auth, bad ranges, bad XML, overlong keys,
 * wrong digests): full control of method, path bytes, Host and headers via node:http, plus
 * `signedRequest`, which signs with ali-oss's own V1 signer (the oracle, SPEC.md §8.3) so a
 * request is rejected for the input under test and not for its signature.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { TestServer } from './start-test-server.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RawRequest {
  method: string;
  /** Sent verbatim (already percent-encoded as the test wants it), including any query. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

interface SignUtils {
  buildCanonicalString(
    method: string,
    resourcePath: string,
    request: { headers: Record<string, string>; parameters?: Record<string, string> },
  ): string;
  authorization(
    accessKeyId: string,
    accessKeySecret: string,
    canonicalString: string,
    encoding: string,
  ): string;
}
const signUtils = createRequire(import.meta.url)('ali-oss/lib/common/signUtils') as SignUtils;

/** ali-oss's key escaping: every byte percent-encoded except unreserved characters and `/`. */
export function escapeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignedRequest {
  method: string;
  bucket?: string;
  /** The raw key; the URL carries it escaped, the signature over it raw. */
  key?: string;
  /** Signed sub-resources, e.g. `{ append: '', position: '0' }`. */
  subresources?: Record<string, string>;
  /** Unsigned query parameters. */
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Override the signing time (skew tests). */
  date?: Date;
  accessKeyId?: string;
  accessKeySecret?: string;
}

/** The path (with query) and headers of a path-style request signed with ali-oss's V1 signer. */
export function signRequest(
  server: TestServer,
  req: Omit<SignedRequest, 'body'>,
): { path: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {
    'x-oss-date': (req.date ?? new Date()).toUTCString(),
    ...req.headers,
  };
  const resource = `/${req.bucket ?? ''}${req.bucket === undefined ? '' : '/'}${req.key ?? ''}`;
  const canonical = signUtils.buildCanonicalString(req.method, resource, {
    headers,
    parameters: req.subresources ?? {},
  });
  headers['authorization'] = signUtils.authorization(
    req.accessKeyId ?? server.accessKeyId,
    req.accessKeySecret ?? server.accessKeySecret,
    canonical,
    'utf-8',
  );
  const query = [
    ...Object.entries(req.subresources ?? {}).map(([k, v]) =>
      v === '' ? k : `${k}=${encodeURIComponent(v)}`,
    ),
    ...Object.entries(req.query ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
  ].join('&');
  const path = `/${req.bucket ?? ''}${req.bucket === undefined ? '' : '/'}${escapeKey(req.key ?? '')}`;
  return { path: query === '' ? path : `${path}?${query}`, headers };
}

/** A path-style request signed with ali-oss's V1 signer. */
export function signedRequest(server: TestServer, req: SignedRequest): Promise<RawResponse> {
  const { path, headers } = signRequest(server, req);
  return rawRequest(server.port, {
    method: req.method,
    path,
    headers,
    ...(req.body === undefined ? {} : { body: req.body }),
  });
}

/** The `<Code>` of an OSS error document, or of the base64 `x-oss-err` header of a HEAD. */
export function errorCode(res: RawResponse): string | undefined {
  const xml =
    res.text !== '' ? res.text : Buffer.from(String(res.headers['x-oss-err'] ?? ''), 'base64').toString();
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}
