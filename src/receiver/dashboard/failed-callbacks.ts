/**
 * The dashboard's view of the storage server's callback log (issue 18): when the dashboard knows
 * the storage server and its root key (`upcall dev`), it shows the callbacks that failed, why, and
 * a button that redelivers them. The browser never sees the key: these two routes call the storage
 * server's admin endpoint (`/_upcall/callbacks`, docs/operations.md) through the same client the
 * CLI uses.
 *
 *   GET  /dashboard/failed-callbacks.json        {available, count, more, callbacks: [...]}
 *   POST /dashboard/failed-callbacks/redeliver   {"requestId": "…"} | {"failed": true} → {redelivered}
 *
 * The POST must carry `x-upcall-dashboard: 1`: a header a cross-site form cannot set and a
 * cross-origin script cannot send without a CORS preflight this app never grants, so another
 * site cannot make a visitor's browser trigger redeliveries.
 */
import type { FastifyInstance } from 'fastify';
import { OssClient } from '../../client/oss-client.ts';
import { OssServiceError } from '../../client/oss-service-error.ts';
import type { DashboardStorage } from './dashboard-handler.ts';

export const FAILED_CALLBACKS_PATH = '/dashboard/failed-callbacks.json';
export const REDELIVER_PATH = '/dashboard/failed-callbacks/redeliver';
/** Shown at most; the count says when there are more. */
const SHOWN = 50;

export function mountFailedCallbacks(
  app: FastifyInstance,
  storage: () => DashboardStorage | undefined,
): void {
  let client: OssClient | undefined;
  const clientFor = (): OssClient | undefined => {
    const configured = storage();
    if (configured === undefined) return undefined;
    client ??= new OssClient({
      endpoint: configured.endpoint,
      accessKeyId: configured.accessKeyId,
      accessKeySecret: configured.accessKeySecret,
    });
    return client;
  };

  app.get(FAILED_CALLBACKS_PATH, async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    const oss = clientFor();
    if (oss === undefined) return { available: false, reason: 'no storage server configured' };
    try {
      const page = await oss.listCallbacks({ failed: true, limit: SHOWN });
      return {
        available: true,
        count: page.callbacks.length,
        more: page.nextMarker !== undefined,
        callbacks: page.callbacks.map((c) => ({
          requestId: c.requestId,
          bucket: c.bucket,
          key: c.key,
          operation: c.operation,
          createdAt: c.createdAt,
          reason: c.reason,
          deliveries: c.deliveries.length,
          urls: c.urls,
        })),
      };
    } catch (error) {
      // The storage server is down, keeps no log, or refuses the key: say so, never fail the page.
      return { available: false, reason: describe(error) };
    }
  });

  app.post(REDELIVER_PATH, async (request, reply) => {
    if (request.headers['x-upcall-dashboard'] !== '1') {
      return reply.code(403).send({ error: 'x-upcall-dashboard: 1 is required' });
    }
    const oss = clientFor();
    if (oss === undefined) return reply.code(404).send({ error: 'no storage server configured' });
    const body = request.body as { requestId?: unknown; failed?: unknown } | undefined;
    const target =
      typeof body?.requestId === 'string' && body.requestId !== ''
        ? { requestId: body.requestId }
        : body?.failed === true
          ? ({ failed: true } as const)
          : undefined;
    if (target === undefined) return reply.code(400).send({ error: 'give requestId or failed: true' });
    try {
      return { redelivered: await oss.redeliverCallbacks(target) };
    } catch (error) {
      return reply.code(502).send({ error: describe(error) });
    }
  });
}

function describe(error: unknown): string {
  if (error instanceof OssServiceError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
