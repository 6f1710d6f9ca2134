/**
 * The bucket rows one gateway has read, kept so a PutObject need not read its bucket (nor its
 * default encryption) from PostgreSQL before every body (issue 16: round trips of a small PUT's few).
 *
 * Gateways share the database, so a row cached here can be changed by another gateway. Two things
 * keep that safe:
 * - Invalidation across gateways: every statement that changes or deletes a bucket row also runs
 *   `pg_notify(BUCKET_CHANNEL, name)`, delivered at its commit to every gateway, each of which
 *   LISTENs on a connection of its own and drops the row. Rows are kept only while that
 *   connection listens: when it fails, everything is dropped, nothing is cached until it listens
 *   again (it reconnects by itself), and a row older than `maxAgeMs` is read again anyway (a
 *   listener cut off without a reset would otherwise never hear of a change).
 * - What the cache is used for: only writes: their early check (is there such a bucket, and its
 *   storage class, before a body is read), whose commit checks the bucket again through the
 *   objects' foreign key, and the default encryption a write that names none gets. A row a
 *   notification has not reached yet can therefore at worst let a body be received before its
 *   commit fails with NoSuchBucket, or let a write received in those moments follow the default
 *   encryption it would have had a moment earlier. Everything that answers with bucket state or
 *   decides access by it (GetBucketAcl, GetBucketInfo, GetBucketEncryption, anonymous access
 *   through the bucket ACL) reads PostgreSQL, so a second gateway sees a DeleteBucket or
 *   PutBucketAcl committed through the first at once.
 *
 * A row read while a notification arrives could be older than it; rows are stored only when no
 * notification arrived since their read began (`generation`).
 */
import pg from 'pg';

/** The NOTIFY channel bucket changes are announced on; the payload is the bucket's name. */
export const BUCKET_CHANNEL = 'upcall_bucket';

/** Waits between reconnection attempts of the listening connection. */
const RECONNECT_MS = 1000;

export interface BucketCacheOptions {
  databaseUrl: string;
  /** A row is read again after this long even without a notification. Default 60 s. */
  maxAgeMs?: number | undefined;
  now?: (() => number) | undefined;
}

export class BucketCache<Row> {
  readonly #databaseUrl: string;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #rows = new Map<string, { row: Row; at: number }>();
  #client: pg.Client | undefined;
  #listening = false;
  #generation = 0;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: BucketCacheOptions) {
    this.#databaseUrl = options.databaseUrl;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Starts listening (in the background: until it listens, nothing is cached). */
  start(): void {
    void this.#listen();
  }

  /** The generation to pass to `set` for a row whose read starts now. */
  get generation(): number {
    return this.#generation;
  }

  get(name: string): Row | undefined {
    const entry = this.#rows.get(name);
    if (entry === undefined) return undefined;
    if (this.#now() - entry.at > this.#maxAgeMs) {
      this.#rows.delete(name);
      return undefined;
    }
    return entry.row;
  }

  /** Keeps `row`, read from a read that began at `generation`, unless anything changed since. */
  set(name: string, row: Row, generation: number): void {
    if (!this.#listening || generation !== this.#generation) return;
    this.#rows.set(name, { row, at: this.#now() });
  }

  /** Drops a row this gateway has just changed (its own notification follows). */
  drop(name: string): void {
    this.#generation++;
    this.#rows.delete(name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#forgetAll();
    await this.#client?.end().catch(() => {});
  }

  #forgetAll(): void {
    this.#listening = false;
    this.#generation++;
    this.#rows.clear();
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#databaseUrl, keepAlive: true });
    this.#client = client;
    const lost = (): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#forgetAll();
      client.end().catch(() => {});
      if (!this.#closed) this.#retry = setTimeout(() => void this.#listen(), RECONNECT_MS).unref();
    };
    // Unhandled, a lost connection's 'error' would end the process.
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel !== BUCKET_CHANNEL) return;
      this.drop(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${BUCKET_CHANNEL}`);
      if (this.#client === client && !this.#closed) this.#listening = true;
    } catch {
      lost();
    }
  }
}
