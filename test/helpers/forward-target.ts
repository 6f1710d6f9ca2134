/**
 * A `--forward-to` target for receiver tests: a real HTTP server on 127.0.0.1 that records every
 * POST by its `Idempotency-Key`, and answers as the test says: 503 to the first `failFirst`
 * deliveries of each key, and holds requests (no answer) while `hold` is set.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForwardTarget {
  /** `http://127.0.0.1:<port>/uploads` */
  url: string;
  /** Every delivery per idempotency key, in arrival order. */
  deliveries: Map<string, { status: number | 'held'; record: { object?: string; id: number } }[]>;
  /** Keys answered 2xx, with how many times each. */
  accepted(): Map<string, number>;
  /** 503 to this many deliveries of each key before answering 200. */
  failFirst: number;
  /** While true, requests get no answer (a slow or hung target). */
  hold: boolean;
  /** Answers every held request 200 now. */
  release(): void;
  close(): Promise<void>;
}

export async function startForwardTarget(options: { failFirst?: number } = {}): Promise<ForwardTarget> {
  const deliveries: ForwardTarget['deliveries'] = new Map();
  const held: { res: ServerResponse; entry: { status: number | 'held' } }[] = [];
  const answer = (res: ServerResponse, status: number): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: status === 200 }));
  };
  const target: ForwardTarget = {
    url: '',
    deliveries,
    failFirst: options.failFirst ?? 0,
    hold: false,
    accepted() {
      const out = new Map<string, number>();
      for (const [key, list] of deliveries) {
        const n = list.filter((d) => d.status === 200).length;
        if (n > 0) out.set(key, n);
      }
      return out;
    },
    release() {
      for (const { res, entry } of held.splice(0)) {
        if (res.destroyed) continue;
        entry.status = 200;
        answer(res, 200);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const record = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { object?: string; id: number };
      const list = deliveries.get(key) ?? [];
      deliveries.set(key, list);
      const entry: { status: number | 'held'; record: typeof record } = { status: 'held', record };
      list.push(entry);
      if (target.hold) {
        held.push({ res, entry });
        return;
      }
      entry.status = list.length <= target.failFirst ? 503 : 200;
      answer(res, entry.status);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uploads`;
  return target;
}

/** Polls `check` until it returns true (or throws its last failure after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
