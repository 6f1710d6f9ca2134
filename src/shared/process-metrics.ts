/**
 * prom-client's default metrics (CPU, resident memory, heap, event-loop lag, GC), which describe
 * the process, not a server: one registry per process, created on first use and appended to
 * every server's own metrics page (docs/operations.md "Metrics"). Collecting them per server would
 * register one GC observer and one event-loop monitor per server, never released: the tests start
 * hundreds of servers in one process. Never prom-client's global default registry, which an
 * embedding application may use for its own metrics.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/** The process metrics in the Prometheus text format. */
export function processMetricsText(): Promise<string> {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry.metrics();
}
