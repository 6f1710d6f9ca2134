/**
 * Starts each receiver adapter on a real socket (127.0.0.1, port 0) behind one signature, so one
 * suite can run against all of them (STYLE.md 3.0 rule 4, "one suite per implementation"). The
 * callback route is `/oss-callback` everywhere; other paths are the framework's own 404s.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import {
  type JsonValue,
  type CallbackVerificationError,
  ossCallbackMiddleware,
  type ExpressCallbackRequest,
  ossCallbackPlugin,
  createNodeHandler,
  handleOssCallback,
  type VerifiedCallback,
  type VerifyOssCallbackOptions,
} from 'upcall-verify';

export type AdapterKind = 'node-http' | 'express' | 'fastify' | 'hono' | 'web';
export const ADAPTER_KINDS: readonly AdapterKind[] = ['node-http', 'express', 'fastify', 'hono', 'web'];

export interface AdapterServerOptions extends VerifyOssCallbackOptions {
  /** Callback routes. Default `['/oss-callback']`. */
  paths?: readonly string[];
  onVerified?: (callback: VerifiedCallback) => JsonValue | Promise<JsonValue>;
  onRejected?: (error: CallbackVerificationError) => void;
}

export interface RunningServer {
  origin: string;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<RunningServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Serves a fetch-style handler from node:http, the way @hono/node-server does: the node request
 * becomes a web `Request` with a streamed body, the `Response` is written back with its headers.
 */
export function webServer(fetch: (request: Request) => Response | Promise<Response>): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody ? { body: Readable.toWeb(req), duplex: 'half' } : {}),
    } as RequestInit);
    void Promise.resolve(fetch(request)).then(async (response) => {
      const body = Buffer.from(await response.arrayBuffer());
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(body);
    });
  });
}

export async function startAdapterServer(
  kind: AdapterKind,
  options: AdapterServerOptions,
): Promise<RunningServer> {
  const paths = options.paths ?? ['/oss-callback'];
  switch (kind) {
    case 'node-http': {
      const handler = createNodeHandler(options);
      return listen(
        createServer((req, res) => {
          if (!paths.includes((req.url ?? '').split('?')[0]!)) {
            res.writeHead(404).end();
            return;
          }
          void handler(req, res);
        }),
      );
    }
    case 'express': {
      const app = express();
      // The rest of the app keeps its JSON parser; the callback route is mounted before it.
      for (const path of paths) {
        app.post(path, ossCallbackMiddleware(options), async (req: ExpressCallbackRequest, res) => {
          const value = options.onVerified ? await options.onVerified(req.ossCallback!) : { Status: 'OK' };
          res.json(value);
        });
        app.all(path, ossCallbackMiddleware(options));
      }
      app.use(express.json());
      app.post('/echo', (req, res) => {
        res.json(req.body as JsonValue);
      });
      return listen(createServer(app));
    }
    case 'fastify': {
      const app = Fastify();
      for (const path of paths) await app.register(ossCallbackPlugin, { ...options, prefix: path });
      app.post('/echo', async (request) => request.body);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { origin: `http://127.0.0.1:${port}`, close: () => app.close() };
    }
    case 'hono': {
      const app = new Hono();
      for (const path of paths) app.all(path, (c) => handleOssCallback(c.req.raw, options));
      return listen(webServer((request) => app.fetch(request)));
    }
    case 'web':
      return listen(
        webServer((request) =>
          paths.includes(new URL(request.url).pathname)
            ? handleOssCallback(request, options)
            : new Response(null, { status: 404 }),
        ),
      );
  }
}
