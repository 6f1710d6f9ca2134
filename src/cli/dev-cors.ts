/**
 * Lets browser pages (the receiver's demo, a web app on localhost) talk to the `upcall dev`
 * storage server: answers CORS preflights and adds CORS headers to every reply.
 *
 * FIDELITY: real OSS answers CORS per bucket from rules set with PutBucketCors; `upcall dev`
 * allows every origin, method and request header and exposes the headers SDKs read (ETag,
 * x-oss-request-id, …) on all buckets, since it serves one developer's machine. `upcall server`
 * is unchanged. Invariant: the wrapped listener still writes every non-preflight response; only
 * headers are added, before it writes them.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const EXPOSED_HEADERS = [
  'ETag',
  'x-oss-request-id',
  'x-oss-hash-crc64ecma',
  'Content-MD5',
  'x-oss-version-id',
  'x-oss-object-type',
  'x-oss-next-append-position',
  'Content-Length',
  'Content-Type',
  'Last-Modified',
].join(', ');

const METHODS = 'GET, PUT, POST, DELETE, HEAD';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export function allowBrowserOrigins(server: Server): void {
  const listeners = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      for (const listener of listeners) listener(req, res);
      return;
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    const requestedMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && requestedMethod !== undefined) {
      const requestedHeaders = req.headers['access-control-request-headers'];
      res.writeHead(200, {
        'access-control-allow-methods': METHODS,
        ...(requestedHeaders === undefined ? {} : { 'access-control-allow-headers': requestedHeaders }),
        'access-control-max-age': '600',
        'content-length': '0',
      });
      res.end();
      req.resume();
      return;
    }
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    for (const listener of listeners) listener(req, res);
  });
}
