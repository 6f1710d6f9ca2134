/**
 * How long the app server took to answer each callback: from the request's arrival to the end of
 * the reply (Fastify's `reply.elapsedTime`), i.e. the part of OSS's 5-second budget spent here
 * (SPEC.md §4 "Timeout"). Kept per upload record id, taken from the reply JSON's `id`, for the
 * dashboard's latency column and chart (`GET /dashboard/latency.json`).
 *
 * Invariant: measuring never changes a reply and never throws into the request; memory is
 * bounded (the newest `MAX_ENTRIES` ids). FIDELITY-free: this is dashboard-only data, kept in
 * memory, so latencies of uploads recorded before a restart show as blank.
 */
import type { FastifyInstance } from 'fastify';

const MAX_ENTRIES = 10_000;

export interface CallbackLatencies {
  /** id → milliseconds, newest last. */
  readonly byId: ReadonlyMap<number, number>;
}

export function trackCallbackLatency(app: FastifyInstance, callbackPath: string): CallbackLatencies {
  const byId = new Map<number, number>();
  const pending = new WeakMap<object, number>();
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST' || !request.url.startsWith(callbackPath) || reply.statusCode !== 200) {
      return payload;
    }
    const text =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (text !== undefined) {
      try {
        const id = (JSON.parse(text) as { id?: unknown }).id;
        if (typeof id === 'number') pending.set(request, id);
      } catch {
        // Not JSON: nothing to attribute the time to.
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const id = pending.get(request);
    if (id === undefined) return;
    byId.set(id, Math.round(reply.elapsedTime * 100) / 100);
    if (byId.size > MAX_ENTRIES) {
      const oldest = byId.keys().next();
      if (oldest.done !== true) byId.delete(oldest.value);
    }
  });
  app.get('/dashboard/latency.json', async () => Object.fromEntries(byId));
  return { byId };
}
