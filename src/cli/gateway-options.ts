/**
 * `upcall server`'s gateway mode (issue 16): object data in an S3-compatible engine, metadata in
 * PostgreSQL, so any number of `upcall server` processes serve one namespace. The flags and their
 * variables are parsed and checked here; the server only receives a complete configuration.
 *
 *   --database-url postgres://…   UPCALL_DATABASE_URL
 *   --s3-endpoint URL             UPCALL_S3_ENDPOINT
 *   --s3-bucket NAME              UPCALL_S3_BUCKET
 *   --s3-region R                 UPCALL_S3_REGION (default us-east-1, what Swift s3api and MinIO use)
 *   --no-s3-path-style            (virtual-hosted `<bucket>.<host>`; path style is the default)
 *   --gc-grace <duration>         UPCALL_GC_GRACE (default 1h)
 *   (no flag)                     UPCALL_S3_ACCESS_KEY_ID / UPCALL_S3_SECRET_ACCESS_KEY
 *
 * The S3 credentials have no flags on purpose: a command line is visible to every user of the
 * machine in `ps`. Half a configuration (a database without an engine, an engine without its
 * bucket or credentials, `--data`/`--memory` beside gateway flags) stops the start with one message
 * naming what is missing: a gateway that silently fell back to a local data dir would split the
 * namespace between processes that are meant to share it.
 */
import { Option, InvalidArgumentError } from 'commander';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './connection.ts';
import { parseDuration } from './duration.ts';
import { fromEnv } from './env-option.ts';

export const GATEWAY_ENV = {
  databaseUrl: 'UPCALL_DATABASE_URL',
  s3Endpoint: 'UPCALL_S3_ENDPOINT',
  s3Bucket: 'UPCALL_S3_BUCKET',
  s3Region: 'UPCALL_S3_REGION',
  s3AccessKeyId: 'UPCALL_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'UPCALL_S3_SECRET_ACCESS_KEY',
  gcGrace: 'UPCALL_GC_GRACE',
} as const;

/** SigV4 region when none is given: the one Swift s3api, MinIO and Ceph RGW answer to by default. */
export const DEFAULT_S3_REGION = 'us-east-1';
/** How long a replaced or deleted blob outlives its row (issue 16: longer than any read). */
export const DEFAULT_GC_GRACE_MS = 3_600_000;

export interface GatewayFlags {
  databaseUrl?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  s3Region?: string;
  /** Commander's `--no-s3-path-style`: true unless that flag is given. */
  s3PathStyle?: boolean;
  gcGrace?: number;
}

/** A complete gateway configuration (the shape of the store's S3Config, which the CLI may not import). */
export interface GatewaySetting {
  databaseUrl: string;
  s3: {
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    pathStyle: boolean;
  };
  gcGraceMs: number;
}

function parseDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      'expected a postgres:// URL, e.g. postgres://upcall@db.example:5432/upcall',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidArgumentError(
      `expected a postgres:// URL, not ${url.protocol}// (e.g. postgres://upcall@db.example:5432/upcall)`,
    );
  }
  return value;
}

function parseS3Endpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL such as http://127.0.0.1:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an http(s) URL such as http://127.0.0.1:8080');
  }
  // The bucket is its own setting and the credentials come from the environment: a path or a
  // user:password here would be silently dropped or, worse, logged.
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      `no credentials in the URL: set ${GATEWAY_ENV.s3AccessKeyId} and ${GATEWAY_ENV.s3SecretAccessKey}`,
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError('expected scheme, host and port only (the bucket goes in --s3-bucket)');
  }
  return url.origin;
}

/** S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric. */
function parseS3Bucket(value: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) {
    throw new InvalidArgumentError(
      'expected an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens',
    );
  }
  return value;
}

function parseS3Region(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError('expected a region name such as us-east-1');
  }
  return value;
}

/** A grace of 0 would delete a blob under a read that another gateway is still streaming. */
function parseGcGrace(value: string): number {
  const ms = parseDuration(value);
  if (ms <= 0) throw new InvalidArgumentError('expected a duration above 0, such as 30s, 10m or 1h');
  return ms;
}

/** The flags, one Option each, for `.addOption(…)` in the server command's chain. */
export const GATEWAY_OPTIONS = {
  databaseUrl: (): Option =>
    new Option(
      '--database-url <url>',
      `gateway mode: PostgreSQL for object metadata, shared by every gateway; prefer env ${GATEWAY_ENV.databaseUrl} when it holds a password (a command line shows in ps)`,
    ),
  s3Endpoint: (): Option =>
    new Option(
      '--s3-endpoint <url>',
      `gateway mode: the S3-compatible engine that keeps object data (env ${GATEWAY_ENV.s3Endpoint}; credentials only from env ${GATEWAY_ENV.s3AccessKeyId} / ${GATEWAY_ENV.s3SecretAccessKey})`,
    ),
  s3Bucket: (): Option =>
    new Option(
      '--s3-bucket <name>',
      `gateway mode: the engine's bucket for blobs (env ${GATEWAY_ENV.s3Bucket})`,
    ).argParser(parseS3Bucket),
  s3Region: (): Option =>
    new Option(
      '--s3-region <region>',
      `gateway mode: SigV4 region of the engine (default: ${DEFAULT_S3_REGION}; env ${GATEWAY_ENV.s3Region})`,
    ).argParser(parseS3Region),
  s3PathStyle: (): Option =>
    new Option(
      '--no-s3-path-style',
      'gateway mode: address the engine as <bucket>.<host> (virtual-hosted) instead of <host>/<bucket>',
    ),
  gcGrace: (): Option =>
    new Option(
      '--gc-grace <duration>',
      `gateway mode: how long replaced, deleted and orphaned blobs are kept before the sweep deletes them; longer than any read (default: 1h; env ${GATEWAY_ENV.gcGrace})`,
    ).argParser(parseGcGrace),
};

/**
 * The gateway configuration from flags and environment (a flag wins), or undefined when none of it
 * is set (then `--data` or `--memory` decide, as before).
 * @throws UsageError for half a configuration, naming what is missing or what conflicts
 */
export function gatewaySetting(
  flags: GatewayFlags,
  io: CliIo,
  local: { data: boolean; memory: boolean },
): GatewaySetting | undefined {
  const env = (name: string): string | undefined => {
    const value = io.env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const databaseUrl = withoutEcho(
    flags.databaseUrl !== undefined ? '--database-url' : GATEWAY_ENV.databaseUrl,
    flags.databaseUrl ?? env(GATEWAY_ENV.databaseUrl),
    parseDatabaseUrl,
  );
  const endpoint = withoutEcho(
    flags.s3Endpoint !== undefined ? '--s3-endpoint' : GATEWAY_ENV.s3Endpoint,
    flags.s3Endpoint ?? env(GATEWAY_ENV.s3Endpoint),
    parseS3Endpoint,
  );
  const bucket = flags.s3Bucket ?? fromEnv(io, GATEWAY_ENV.s3Bucket, parseS3Bucket);
  // Every value is checked before what is missing, so one start reports a bad value at once.
  const region = flags.s3Region ?? fromEnv(io, GATEWAY_ENV.s3Region, parseS3Region) ?? DEFAULT_S3_REGION;
  const gcGraceMs = flags.gcGrace ?? fromEnv(io, GATEWAY_ENV.gcGrace, parseGcGrace) ?? DEFAULT_GC_GRACE_MS;
  const accessKeyId = env(GATEWAY_ENV.s3AccessKeyId);
  const secretAccessKey = env(GATEWAY_ENV.s3SecretAccessKey);
  // What asks for gateway mode: the flags, and the variables that name a database or an engine.
  // UPCALL_S3_REGION / UPCALL_GC_GRACE alone only tune it, so a shell that exports them for other
  // tools can still start a `--data` server.
  const given: string[] = [
    ...(flags.databaseUrl !== undefined ? ['--database-url'] : []),
    ...(flags.databaseUrl === undefined && databaseUrl !== undefined ? [GATEWAY_ENV.databaseUrl] : []),
    ...(flags.s3Endpoint !== undefined ? ['--s3-endpoint'] : []),
    ...(flags.s3Endpoint === undefined && endpoint !== undefined ? [GATEWAY_ENV.s3Endpoint] : []),
    ...(flags.s3Bucket !== undefined ? ['--s3-bucket'] : []),
    ...(flags.s3Bucket === undefined && bucket !== undefined ? [GATEWAY_ENV.s3Bucket] : []),
    ...(flags.s3Region !== undefined ? ['--s3-region'] : []),
    ...(flags.s3PathStyle === false ? ['--no-s3-path-style'] : []),
    ...(flags.gcGrace !== undefined ? ['--gc-grace'] : []),
  ];
  if (given.length === 0) return undefined;
  if (local.data || local.memory) {
    throw new UsageError(
      `${local.data ? '--data' : '--memory'} and ${given.join(', ')} exclude each other: a gateway keeps data in PostgreSQL and the S3 engine, not locally`,
    );
  }
  const missing: string[] = [];
  if (databaseUrl === undefined) missing.push(`--database-url (or ${GATEWAY_ENV.databaseUrl})`);
  if (endpoint === undefined) missing.push(`--s3-endpoint (or ${GATEWAY_ENV.s3Endpoint})`);
  if (bucket === undefined) missing.push(`--s3-bucket (or ${GATEWAY_ENV.s3Bucket})`);
  if (accessKeyId === undefined) missing.push(GATEWAY_ENV.s3AccessKeyId);
  if (secretAccessKey === undefined) missing.push(GATEWAY_ENV.s3SecretAccessKey);
  if (
    databaseUrl === undefined ||
    endpoint === undefined ||
    bucket === undefined ||
    accessKeyId === undefined ||
    secretAccessKey === undefined
  ) {
    throw new UsageError(
      `gateway mode (${given.join(', ')}) needs PostgreSQL and an S3 engine together; missing: ${missing.join(', ')}`,
    );
  }
  return {
    databaseUrl,
    s3: {
      endpoint,
      bucket,
      region,
      accessKeyId,
      secretAccessKey,
      pathStyle: flags.s3PathStyle !== false,
    },
    gcGraceMs,
  };
}

/**
 * Parses a URL that may hold a password without repeating it: commander's and fromEnv's messages
 * quote the value, which would put the password in a terminal log or a CI transcript.
 */
function withoutEcho(
  name: string,
  value: string | undefined,
  parse: (value: string) => string,
): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parse(value);
  } catch (error) {
    throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The database URL fit for a banner or a log: the password replaced, everything else kept. */
export function redactDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password !== '') url.password = '***';
  // Connection parameters may carry a password too (`?password=`, libpq style).
  for (const name of [...url.searchParams.keys()]) {
    if (name.toLowerCase() === 'password') url.searchParams.set(name, '***');
  }
  return url.toString();
}

/**
 * The banner's storage line in gateway mode: where metadata and objects live, never a secret (the
 * database password is masked, the S3 credentials are not shown at all).
 */
export function gatewayBannerLine(setting: GatewaySetting): string {
  const { s3 } = setting;
  const addressing = s3.pathStyle ? 'path style' : 'virtual-hosted';
  return (
    `data: gateway (metadata: PostgreSQL ${redactDatabaseUrl(setting.databaseUrl)}; ` +
    `objects: S3 ${s3.endpoint} bucket ${s3.bucket}, region ${s3.region}, ${addressing}; ` +
    `gc grace ${formatMs(setting.gcGraceMs)})`
  );
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
