/**
 * The gateway store's PostgreSQL connection pool: how values come back (int8 as numbers), how a
 * transaction runs, and what a lost database looks like to a client (OssError ServiceUnavailable,
 * never a 500 with a stack).
 */
import pg from 'pg';
import { isOssError, ossError } from '../../shared/oss-error.ts';

const INT8_OID = 20;

/**
 * Per pool, not `pg.types.setTypeParser` (global): sizes and ms timestamps are bigint columns, which
 * pg returns as strings by default; every value upcall stores is below 2^53, so Number is exact.
 * bytea keys come back as Buffer and json columns parsed, as pg does by default.
 */
const parseInt8 = (value: string): number => Number(value);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgPoolOptions {
  databaseUrl: string;
  /** Connections per gateway (default DEFAULT_POOL_SIZE). */
  poolSize?: number | undefined;
}

/**
 * A PUT holds a connection for its blob intent and again for its commit, so a pool smaller than
 * the requests in flight queues them (pg's default of 10 was under the bench's 16 concurrent
 * PUTs). 20 covers that with room, and two gateways stay at 40 of PostgreSQL's default 100.
 */
export const DEFAULT_POOL_SIZE = 20;

export function createPgPool(options: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    types,
    // A database that does not answer fails the request (503) rather than holding it open.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would end
  // the process. The next query reconnects (or fails with ServiceUnavailable).
  pool.on('error', () => {});
  return pool;
}

/**
 * SQLSTATE classes and Node error codes that mean "the database is not there right now", as
 * opposed to a bad statement: connection exceptions (08), operator intervention such as a
 * shutdown or a server still starting (57P01..57P03), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code))
      return true;
  }
  const message = (error as { message?: unknown }).message;
  // pg's own wording for a socket that closed under it or a pool that timed out connecting.
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/** The error a client sees: a lost database is ServiceUnavailable, anything else as it is. */
export function databaseError(error: unknown): unknown {
  if (isOssError(error) || !isDatabaseUnavailable(error)) return error;
  return ossError('ServiceUnavailable', {
    message: 'The metadata database is unavailable. Please try again.',
    cause: error,
  });
}

/**
 * One statement on any pooled connection. With `name` it is a prepared statement: each connection
 * parses and plans it once, and later runs send only its parameters (for the hot statements).
 */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: pg.Pool,
  sql: string,
  params: unknown[] = [],
  name?: string,
): Promise<pg.QueryResult<R>> {
  try {
    return await (name === undefined
      ? pool.query<R>(sql, params)
      : pool.query<R>({ name, text: sql, values: params }));
  } catch (error) {
    throw databaseError(error);
  }
}

/**
 * Runs `fn` in one READ COMMITTED transaction on one pooled connection: all of it commits, or (it
 * throws) none of it. What `fn` re-checks it must lock (SELECT … FOR UPDATE) or test in the
 * writing statement itself, since other gateways write concurrently.
 */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw databaseError(error);
  }
  let broken = false;
  // A checked-out client whose server goes away between statements emits 'error' on itself (the
  // pool listens only to idle ones); unhandled, that ends the process. The next statement fails
  // and the request gets ServiceUnavailable instead.
  const onLost = (): void => {
    broken = true;
  };
  client.on('error', onLost);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = isDatabaseUnavailable(error);
    if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw databaseError(error);
  } finally {
    client.off('error', onLost);
    // A connection that failed mid-transaction is not handed to the next request.
    client.release(broken);
  }
}

/** SQLSTATE of a failed statement, if it is a PostgreSQL error. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
