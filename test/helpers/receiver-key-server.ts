/**
 * A local HTTP server that plays gosspublic.alicdn.com for receiver tests: serves a PEM, or
 * misbehaves on demand (slow, oversize, redirect, error, not a key). Counts hits per path so tests
 * can prove a fetch was shared or never made. Binds 127.0.0.1 port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type KeyServerMode =
  | { kind: 'pem'; pem: string }
  | { kind: 'slow'; pem: string; delayMs: number }
  | { kind: 'oversize'; bytes: number; declareLength: boolean }
  | { kind: 'redirect'; location: string }
  | { kind: 'status'; status: number }
  | { kind: 'text'; body: string };

export interface KeyServer {
  origin: string;
  /** `${origin}/callback_pub_key_v1.pem` */
  keyUrl: string;
  mode: KeyServerMode;
  hits(path?: string): number;
  close(): Promise<void>;
}

export async function startKeyServer(mode: KeyServerMode): Promise<KeyServer> {
  const hits = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const state: { mode: KeyServerMode } = { mode };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const m = state.mode;
    switch (m.kind) {
      case 'pem':
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(m.pem);
        return;
      case 'slow': {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) res.writeHead(200).end(m.pem);
        }, m.delayMs);
        timers.add(t);
        return;
      }
      case 'oversize': {
        const body = Buffer.alloc(m.bytes, 0x41);
        if (m.declareLength) {
          res.writeHead(200, { 'content-length': String(m.bytes) }).end(body);
        } else {
          res.writeHead(200); // chunked: the cap must hold while streaming
          res.end(body);
        }
        return;
      }
      case 'redirect':
        res.writeHead(302, { location: m.location }).end();
        return;
      case 'status':
        res.writeHead(m.status).end('nope');
        return;
      case 'text':
        res.writeHead(200).end(m.body);
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    keyUrl: `${origin}/callback_pub_key_v1.pem`,
    get mode() {
      return state.mode;
    },
    set mode(next: KeyServerMode) {
      state.mode = next;
    },
    hits: (path) =>
      path === undefined ? [...hits.values()].reduce((a, b) => a + b, 0) : (hits.get(path) ?? 0),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
