/**
 * The storage server's Prometheus metrics (docs/operations.md "Metrics"), on a Registry of its
 * own: never prom-client's global default registry, because two servers in one process
 * (`upcall dev`, the tests) would share counters or clash on names.
 *
 * Invariant: no label carries a bucket, key, URL or principal; labels are drawn from small fixed
 * sets (OSS action names, HTTP statuses, callback outcomes), so the series count stays bounded
 * and the endpoint can be served unauthenticated without telling who stores what.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallbackDispatcher, CallbackOutcome } from '../callback/callback-dispatcher.ts';
import type { CallbackRuntime } from '../callback/callback-runtime.ts';

/** Operations that store an object: their latency is the upload histogram. */
const UPLOAD_ACTIONS: ReadonlySet<string> = new Set([
  'PutObject',
  'PostObject',
  'AppendObject',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'CopyObject',
]);

/** The `operation` label of a request that matched no route (a bad bucket name, an unknown path). */
export const UNROUTED = 'Unrouted';

export interface RequestSample {
  operation: string | undefined;
  /** The status sent, or undefined when the client left before any response was written. */
  status: number | undefined;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(sample: RequestSample): void;
  /** The same runtime whose dispatcher counts, times and gauges every callback it sends. */
  measureCallbacks(runtime: CallbackRuntime): CallbackRuntime;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'upcall_http_requests_total',
    help: 'Requests answered, by OSS operation and HTTP status (status "aborted": the client left first).',
    labelNames: ['operation', 'status'] as const,
    registers,
  });
  const received = new Counter({
    name: 'upcall_http_received_bytes_total',
    help: 'Bytes read from client connections (request heads and bodies), by OSS operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const sent = new Counter({
    name: 'upcall_http_sent_bytes_total',
    help: 'Bytes written to client connections (response heads and bodies), by OSS operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const uploads = new Histogram({
    name: 'upcall_upload_duration_seconds',
    help: 'Time from request head to response end of uploads that stored an object (200, or 203 when the callback failed), callback included.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const callbacks = new Counter({
    name: 'upcall_callbacks_total',
    help: 'Upload callbacks sent, by outcome (succeeded: the app server answered 200 with JSON).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const callbackSeconds = new Histogram({
    name: 'upcall_callback_duration_seconds',
    help: 'Time to deliver an upload callback, every URL tried included, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const inFlight = new Gauge({
    name: 'upcall_callbacks_in_flight',
    help: 'Upload callbacks being sent now.',
    registers,
  });
  // Created at zero so a dashboard shows 0, not "no data", before the first callback.
  callbacks.inc({ outcome: 'succeeded' }, 0);
  callbacks.inc({ outcome: 'failed' }, 0);

  const record = (outcome: CallbackOutcome): void => {
    const label = { outcome: outcome.ok ? 'succeeded' : 'failed' };
    callbacks.inc(label);
    callbackSeconds.observe(label, outcome.latencyMs / 1000);
  };

  return {
    registry,
    observeRequest(sample) {
      const operation = sample.operation ?? UNROUTED;
      requests.inc({ operation, status: sample.status === undefined ? 'aborted' : String(sample.status) });
      if (sample.bytesIn > 0) received.inc({ operation }, sample.bytesIn);
      if (sample.bytesOut > 0) sent.inc({ operation }, sample.bytesOut);
      if (UPLOAD_ACTIONS.has(operation) && (sample.status === 200 || sample.status === 203)) {
        uploads.observe({ operation }, sample.durationMs / 1000);
      }
    },
    measureCallbacks(runtime) {
      const inner = runtime.dispatcher;
      const send: CallbackDispatcher['send'] = async (prepared) => {
        inFlight.inc();
        try {
          const outcome = await inner.send(prepared);
          record(outcome);
          return outcome;
        } finally {
          inFlight.dec();
        }
      };
      // Every other method (and any added later) is the dispatcher's own.
      const dispatcher: CallbackDispatcher = {
        ...inner,
        send,
        dispatch: (spec, facts, context) => send(inner.prepare(spec, facts, context)),
      };
      return { ...runtime, dispatcher };
    },
  };
}
