/**
 * The callback log of the memory backend (callback-log.ts): entries in insertion order in one
 * Map, so the oldest are the first to go when the server prunes by count. Bounded by the server's
 * retention like the SQLite one; there is nothing to migrate.
 */
import type {
  CallbackLog,
  CallbackLogEntry,
  CallbackLogPage,
  CallbackLogQuery,
  CallbackLogRetention,
  CallbackLogWrite,
} from '../callback-log.ts';

interface Held {
  seq: number;
  entry: CallbackLogEntry;
}

export function createMemoryCallbackLog(): CallbackLog {
  /** Insertion order is creation order: a Map iterates in it. */
  const entries = new Map<string, Held>();
  let seq = 0;
  return {
    record(writes: readonly CallbackLogWrite[]) {
      for (const write of writes) {
        if (write.kind === 'first') {
          if (entries.has(write.entry.requestId)) continue;
          entries.set(write.entry.requestId, {
            seq: ++seq,
            entry: { ...write.entry, createdAt: write.delivery.at, deliveries: [write.delivery] },
          });
        } else {
          entries.get(write.requestId)?.entry.deliveries.push(write.delivery);
        }
      }
      return Promise.resolve();
    },
    get(requestId) {
      const held = entries.get(requestId);
      return Promise.resolve(held === undefined ? undefined : copy(held.entry));
    },
    list(query: CallbackLogQuery): Promise<CallbackLogPage> {
      const before = query.marker === undefined ? Infinity : Number(query.marker);
      const matching: Held[] = [];
      for (const held of entries.values()) {
        if (held.seq < before && matches(held.entry, query)) matching.push(held);
      }
      matching.reverse();
      const page = matching.slice(0, query.limit);
      const last = page.at(-1);
      return Promise.resolve({
        entries: page.map((held) => copy(held.entry)),
        ...(matching.length > query.limit && last !== undefined && { nextMarker: String(last.seq) }),
      });
    },
    prune(now: Date, retention: CallbackLogRetention) {
      const oldest = now.getTime() - retention.maxAgeMs;
      let excess = entries.size - retention.maxEntries;
      let dropped = 0;
      for (const [requestId, held] of entries) {
        if (excess <= 0 && held.entry.createdAt.getTime() >= oldest) break;
        entries.delete(requestId);
        excess--;
        dropped++;
      }
      return Promise.resolve(dropped);
    },
  };
}

function matches(entry: CallbackLogEntry, query: CallbackLogQuery): boolean {
  if (query.failed === true && entry.deliveries.at(-1)?.ok !== false) return false;
  if (query.bucket !== undefined && entry.bucket !== query.bucket) return false;
  if (query.key !== undefined && entry.key !== query.key) return false;
  if (query.since !== undefined && entry.createdAt < query.since) return false;
  return true;
}

/** Callers get their own copy: a later redelivery must not change an entry they hold. */
function copy(entry: CallbackLogEntry): CallbackLogEntry {
  return { ...entry, deliveries: [...entry.deliveries] };
}
