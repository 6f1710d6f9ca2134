/**
 * The gateway store's PostgreSQL schema, as numbered migrations applied at open under a session
 * advisory lock, so N gateways starting at once apply each migration exactly once and none serves
 * before the schema is complete. `schema_version` holds the highest applied number. Append only:
 * never change a migration once released; add the next one.
 *
 * Types (shared/services/README.md "SQLite → PostgreSQL"):
 * - object and upload keys are `bytea`: btree order on bytes is OSS's UTF-8 byte order, whatever
 *   the database's collation (the test cluster is ICU en-US on purpose);
 * - bucket names, upload ids and blob keys are `text COLLATE "C"` (byte order, no ICU cost);
 * - sizes and ms timestamps are `bigint` (pg-pool.ts parses them to numbers);
 * - metadata, tags and segment lists are `json` (kept as written: header order survives); bucket
 *   settings are `jsonb`, to set or remove one key in place (their key order carries nothing);
 * - objects and uploads reference their bucket, so DeleteBucket vs PutObject is settled by the
 *   foreign key (its KEY SHARE lock), not by a check that another gateway could race.
 */
import type pg from 'pg';

/** Any number: the lock that serialises migrations (and the callback key's creation) across gateways. */
export const MIGRATION_LOCK = 0x75_70_63_61; // 'upca'

/** The class (first key) of the two-key advisory locks that elect one sweeper per round. */
export const SWEEP_LOCK_CLASS = 0x75_70_73_77; // 'upsw'

const MIGRATIONS: readonly string[] = [
  // 1: the first release.
  `
  CREATE TABLE buckets (
    name text COLLATE "C" PRIMARY KEY,
    created_ms bigint NOT NULL,
    acl text NOT NULL,
    storage_class text NOT NULL,
    cors json
  );
  CREATE TABLE objects (
    bucket text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key bytea NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    content_md5 text,
    crc64 text NOT NULL,
    last_modified_ms bigint NOT NULL,
    type text NOT NULL,
    meta json NOT NULL,
    segments json NOT NULL,
    acl text NOT NULL,
    tags json NOT NULL,
    storage_class text NOT NULL,
    restore_ready_ms bigint,
    restore_expires_ms bigint,
    PRIMARY KEY (bucket, key)
  );
  CREATE TABLE uploads (
    upload_id text COLLATE "C" PRIMARY KEY,
    bucket text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key bytea NOT NULL,
    initiated_ms bigint NOT NULL,
    meta json NOT NULL,
    acl text NOT NULL,
    tags json NOT NULL,
    storage_class text NOT NULL
  );
  CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
  CREATE TABLE parts (
    upload_id text COLLATE "C" NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number integer NOT NULL,
    segments json NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    crc64 text NOT NULL,
    last_modified_ms bigint NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  );
  -- Blobs no row references any more, deleted from the engine once due (blob-gc.ts).
  CREATE TABLE blob_gc (
    blob_key text COLLATE "C" PRIMARY KEY,
    due_ms bigint NOT NULL
  );
  CREATE INDEX blob_gc_due ON blob_gc (due_ms);
  -- Blobs being written: recorded before their PUT starts, removed by the commit that references
  -- them; one left behind by a gateway that died is an orphan the sweep deletes after the grace.
  CREATE TABLE blob_intent (
    blob_key text COLLATE "C" PRIMARY KEY,
    created_ms bigint NOT NULL
  );
  CREATE INDEX blob_intent_created ON blob_intent (created_ms);
  -- The upload-callback signing key every gateway signs with (PEM), created once.
  CREATE TABLE callback_key (
    id integer PRIMARY KEY CHECK (id = 1),
    pem text NOT NULL
  );
  CREATE TABLE callback_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id text COLLATE "C" NOT NULL UNIQUE,
    bucket text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    operation text NOT NULL,
    created_ms bigint NOT NULL,
    failed boolean NOT NULL,
    request json NOT NULL,
    body bytea NOT NULL,
    deliveries jsonb NOT NULL
  );
  CREATE INDEX callback_log_failed ON callback_log (seq) WHERE failed;
  CREATE INDEX callback_log_created ON callback_log (created_ms);
  `,
  // 2: bucket lifecycle and server-side encryption (issue 20). Rows from before were never
  // encrypted and buckets had neither a lifecycle nor a default encryption: NULL says so.
  `
  ALTER TABLE buckets ADD COLUMN lifecycle json, ADD COLUMN encryption json;
  -- The wrapped data key (encryption/object-cipher.ts ObjectEncryption) of an encrypted object,
  -- and of an upload whose parts are encrypted; each blob starts with its own IV.
  ALTER TABLE objects ADD COLUMN encryption json;
  ALTER TABLE uploads ADD COLUMN encryption json;
  -- The master key every gateway wraps data keys with (base64 of 32 bytes), created once, unless
  -- the gateways are given one (UPCALL_MASTER_KEY).
  CREATE TABLE master_key (
    id integer PRIMARY KEY CHECK (id = 1),
    key text NOT NULL
  );
  `,
  // 3: the bucket settings (object-store.ts BucketSettings) in one jsonb object keyed by setting
  // name, so a setting is one more key rather than one more column; the columns of migrations 1
  // and 2 are folded into it (a NULL column: no such key) and dropped.
  `
  ALTER TABLE buckets ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
  UPDATE buckets SET settings =
    CASE WHEN cors IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('cors', cors::jsonb) END
    || CASE WHEN lifecycle IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('lifecycle', lifecycle::jsonb) END
    || CASE WHEN encryption IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('encryption', encryption::jsonb) END;
  ALTER TABLE buckets DROP COLUMN cors, DROP COLUMN lifecycle, DROP COLUMN encryption;
  `,
  // 4: the callback log's row count (pg-callback-log.ts prunes by it), kept by statement triggers
  // so every writer keeps it, including a gateway of the previous release during a rolling
  // upgrade. The triggers are created before the count is taken: creating them waits for the
  // inserts in flight and holds new ones off until this commits, so none is missed or counted twice.
  `
  CREATE TABLE callback_log_count (
    id integer PRIMARY KEY CHECK (id = 1),
    n bigint NOT NULL
  );
  CREATE FUNCTION callback_log_counted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'TRUNCATE' THEN
      UPDATE callback_log_count SET n = 0;
    ELSIF TG_OP = 'INSERT' THEN
      -- Nothing inserted (ON CONFLICT DO NOTHING) leaves the row, and its lock, alone.
      UPDATE callback_log_count SET n = n + d.k FROM (SELECT count(*) AS k FROM added) d WHERE d.k > 0;
    ELSE
      UPDATE callback_log_count SET n = n - d.k FROM (SELECT count(*) AS k FROM gone) d WHERE d.k > 0;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER callback_log_added AFTER INSERT ON callback_log
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION callback_log_counted();
  CREATE TRIGGER callback_log_gone AFTER DELETE ON callback_log
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION callback_log_counted();
  CREATE TRIGGER callback_log_truncated AFTER TRUNCATE ON callback_log
    FOR EACH STATEMENT EXECUTE FUNCTION callback_log_counted();
  INSERT INTO callback_log_count (id, n) SELECT 1, count(*) FROM callback_log;
  `,
];

/** The schema version this code needs. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to SCHEMA_VERSION (`target`: only that far, which is the schema an
 * earlier release left, for upgrade tests). Refuses a database migrated by a newer upcall (its
 * rows may mean things this code does not know).
 */
export async function migrate(client: pg.ClientBase, target = SCHEMA_VERSION): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    let version = rows[0]?.version ?? 0;
    if (version > SCHEMA_VERSION)
      throw new Error(
        `the metadata database has schema version ${version}, newer than this upcall's ${SCHEMA_VERSION}: upgrade upcall`,
      );
    while (version < target) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[version]!);
        version++;
        if (rows.length === 0 && version === 1)
          await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
        else await client.query('UPDATE schema_version SET version = $1', [version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
