/**
 * The receiver app's logs, health and metrics (docs/operations.md): the same three paths as the
 * storage server (`/_upcall/health/live`, `/_upcall/health/ready`, `/_upcall/metrics`), one log
 * line per request, and Prometheus metrics on a Registry of its own (never prom-client's global
 * one: `upcall dev` runs a storage server and a receiver in one process).
 *
 * The health paths are open (probes carry no token; request-guard.ts); `/_upcall/metrics` is
 * behind the API token when one is set, like every other path.
 *
 * Invariant: a log line carries the path without its query, no header, no body: the API token
 * (Authorization, the sign-in cookie) and the callback's signature never reach a log.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { processMetricsText } from '../../shared/process-metrics.ts';
import type { ReceiverHealthCheck } from './sqlite-health.ts';
import type { HookJobQueue, HookJobState } from './upload-repository.ts';

export const LIVENESS_PATH = '/_upcall/health/live';
export const READINESS_PATH = '/_upcall/health/ready';
export const METRICS_PATH = '/_upcall/metrics';

/** A readiness check that has not answered by then counts as failed. */
const READINESS_TIMEOUT_MS = 2000;
const JOB_STATES: readonly HookJobState[] = ['pending', 'running', 'failed'];

export interface ReceiverObservabilityOptions {
  callbackPath: string;
  jobs: HookJobQueue;
  /** The store's readiness checks; absent: a store that cannot tell (taken as ready). */
  checkHealth?: (() => Promise<ReceiverHealthCheck[]>) | undefined;
}

export interface ReceiverObservability {
  readonly registry: Registry;
  callbackVerified(): void;
  callbackRefused(): void;
  /**
   * Counts and logs one answered request. Fastify's routes report through its onResponse hook;
   * the callback route served in front of Fastify (callback-listener.ts) calls this itself.
   */
  requestAnswered(answered: AnsweredRequest): void;
}

/** What the request metrics and the one log line per request carry. */
export interface AnsweredRequest {
  reqId: string;
  method: string;
  /** Without the query string (it may hold a token). */
  path: string;
  /** The route pattern (`unmatched` for none): bounded label values, unlike paths. */
  route: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** `x-oss-request-id` of a callback. */
  ossRequestId: string | string[] | undefined;
}

export function installReceiverObservability(
  app: FastifyInstance,
  options: ReceiverObservabilityOptions,
): ReceiverObservability {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'upcall_receiver_http_requests_total',
    help: 'Requests answered by the receiver, by route pattern and HTTP status.',
    labelNames: ['route', 'status'] as const,
    registers,
  });
  const callbacks = new Counter({
    name: 'upcall_receiver_callbacks_total',
    help: 'OSS upload callbacks received, by outcome (verified and recorded, or refused).',
    labelNames: ['outcome'] as const,
    registers,
  });
  callbacks.inc({ outcome: 'verified' }, 0);
  callbacks.inc({ outcome: 'refused' }, 0);
  const callbackSeconds = new Histogram({
    name: 'upcall_receiver_callback_duration_seconds',
    help: 'Time to answer an upload callback (OSS gives up after 5 s), by HTTP status.',
    labelNames: ['status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const jobs = options.jobs;
  if (jobs.countByState !== undefined) {
    const countByState = jobs.countByState.bind(jobs);
    new Gauge({
      name: 'upcall_receiver_hook_jobs',
      help: 'afterUpload hook jobs by state: pending (waiting or retrying), running, failed (retries exhausted).',
      labelNames: ['state'] as const,
      registers,
      // Read from the queue at scrape time: the database is the truth, across restarts too.
      async collect() {
        const counts = await countByState();
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  app.get(LIVENESS_PATH, async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });
  app.get(READINESS_PATH, async (_request, reply) => {
    const checks = await readiness(options.checkHealth);
    const ok = checks.every((check) => check.ok);
    return reply
      .code(ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ok ? 'ok' : 'unavailable', checks });
  });
  app.get(METRICS_PATH, async (_request, reply) => {
    const text = `${await registry.metrics()}\n${await processMetricsText()}`;
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });

  const callbackPaths = new Set([options.callbackPath, `${options.callbackPath}/`]);
  const requestAnswered = (answered: AnsweredRequest): void => {
    const status = String(answered.status);
    requests.inc({ route: answered.route, status });
    const isCallback = answered.method === 'POST' && callbackPaths.has(answered.path);
    if (isCallback) callbackSeconds.observe({ status }, answered.durationMs / 1000);
    if (!infoEnabled(app.log)) return;
    const { ossRequestId } = answered;
    app.log.info(
      {
        reqId: answered.reqId,
        method: answered.method,
        path: answered.path,
        route: answered.route,
        status: answered.status,
        bytesIn: answered.bytesIn,
        bytesOut: answered.bytesOut,
        durationMs: Math.round(answered.durationMs * 1000) / 1000,
        ...(isCallback && typeof ossRequestId === 'string' && { ossRequestId }),
      },
      'request',
    );
  };
  app.addHook('onResponse', async (request, reply) => {
    requestAnswered({
      reqId: request.id,
      method: request.method,
      path: (request.raw.url ?? '/').split('?', 1)[0] ?? '/',
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      bytesIn: Number(request.headers['content-length'] ?? 0) || 0,
      bytesOut: Number(reply.getHeader('content-length') ?? 0) || 0,
      durationMs: reply.elapsedTime,
      ossRequestId: request.headers['x-oss-request-id'],
    });
  });

  return {
    registry,
    callbackVerified: () => callbacks.inc({ outcome: 'verified' }),
    callbackRefused: () => callbacks.inc({ outcome: 'refused' }),
    requestAnswered,
  };
}

/** Fastify's own no-op logger (logger: false) has no level check: nothing is written then. */
function infoEnabled(log: FastifyBaseLogger): boolean {
  const check = (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled;
  return check === undefined ? false : check.call(log, 'info');
}

async function readiness(
  checkHealth: (() => Promise<ReceiverHealthCheck[]>) | undefined,
): Promise<ReceiverHealthCheck[]> {
  if (checkHealth === undefined) return [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReceiverHealthCheck[]>((resolve) => {
    timer = setTimeout(
      () => resolve([{ name: 'store', ok: false, reason: `no answer within ${READINESS_TIMEOUT_MS} ms` }]),
      READINESS_TIMEOUT_MS,
    );
  });
  const checks = checkHealth().catch((error: unknown) => [
    { name: 'store', ok: false, reason: error instanceof Error ? error.message : String(error) },
  ]);
  return Promise.race([checks, timeout]).finally(() => clearTimeout(timer));
}
