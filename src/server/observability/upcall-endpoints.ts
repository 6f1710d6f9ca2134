/**
 * The storage server's own endpoints beside the OSS API (docs/operations.md): liveness, readiness
 * and Prometheus metrics under `/_upcall/`.
 *
 * They are answered only on the service host, in path style: `_` is never valid in a bucket name,
 * so `/_upcall/...` cannot be a bucket there, while on a bucket's virtual host the same path is an
 * object key and stays an object request (the rule `/callback_pub_key_v1.pem` follows,
 * callback-key.ts). Any other `/_upcall/` path falls through to the OSS pipeline (InvalidBucketName
 * unless another upcall endpoint claims it first).
 *
 * FIDELITY: OSS answers every path-style `/_upcall/...` with InvalidBucketName; upcall answers these
 * three (docs/compatibility.md).
 *
 * Unauthenticated, like most exporters and probes: they say whether the server can serve and how
 * many requests of each operation it answered, never a bucket, key, URL or principal
 * (server-metrics.ts). Readiness reasons name data-dir paths, which an operator needs and a client
 * of a single-tenant server already knows the shape of; put `/_upcall/` behind the proxy's allowlist
 * where even that is too much (docs/operations.md).
 */
import { ossError } from '../../shared/oss-error.ts';
import { processMetricsText } from '../../shared/process-metrics.ts';
import { checkStoreHealth, type ObjectStore, type StoreHealthCheck } from '../../store/index.ts';
import type { OssResponse } from '../pipeline/request-context.ts';
import { virtualHostBucket } from '../pipeline/resolve-target.ts';
import type { ServerMetrics } from './server-metrics.ts';

export const UPCALL_PATH_PREFIX = '/_upcall/';
export const LIVENESS_PATH = '/_upcall/health/live';
export const READINESS_PATH = '/_upcall/health/ready';
export const METRICS_PATH = '/_upcall/metrics';

/** A readiness check that has not answered by then counts as failed (a hung disk, a lost mount). */
const READINESS_TIMEOUT_MS = 2000;

export interface UpcallEndpoints {
  /**
   * The response when the request is one of these endpoints, else undefined (synchronously: every
   * other request pays one prefix comparison). Throws an OssError (MethodNotAllowed) for a method
   * other than GET or HEAD.
   */
  respond(
    request: { method: string; rawPath: string; host: string },
    pathStyleHosts: ReadonlySet<string>,
  ): { action: string; response: Promise<OssResponse> } | undefined;
}

export function createUpcallEndpoints(deps: { store: ObjectStore; metrics: ServerMetrics }): UpcallEndpoints {
  const handlers: Record<string, { action: string; run: () => Promise<OssResponse> }> = {
    [LIVENESS_PATH]: { action: 'UpcallLiveness', run: async () => json(200, { status: 'ok' }) },
    [READINESS_PATH]: { action: 'UpcallReadiness', run: () => readiness(deps.store) },
    [METRICS_PATH]: {
      action: 'UpcallMetrics',
      run: async () => ({
        status: 200,
        headers: { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' },
        body: `${await deps.metrics.registry.metrics()}\n${await processMetricsText()}`,
      }),
    },
  };
  return {
    respond(request, pathStyleHosts) {
      if (!request.rawPath.startsWith(UPCALL_PATH_PREFIX)) return undefined;
      const handler = handlers[request.rawPath];
      if (handler === undefined) return undefined;
      if (virtualHostBucket(request.host, pathStyleHosts) !== undefined) return undefined;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return { action: handler.action, response: Promise.reject(ossError('MethodNotAllowed')) };
      }
      return { action: handler.action, response: handler.run() };
    },
  };
}

async function readiness(store: ObjectStore): Promise<OssResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<StoreHealthCheck[]>((resolve) => {
    timer = setTimeout(
      () => resolve([{ name: 'store', ok: false, reason: `no answer within ${READINESS_TIMEOUT_MS} ms` }]),
      READINESS_TIMEOUT_MS,
    );
  });
  const checks = await Promise.race([checkStoreHealth(store), timeout]).finally(() => clearTimeout(timer));
  const ok = checks.every((check) => check.ok);
  return json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks });
}

function json(status: number, body: unknown): OssResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify(body),
  };
}
