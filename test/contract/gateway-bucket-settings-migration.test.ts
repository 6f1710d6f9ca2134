// A metadata database the previous release created (schema version 2: one json column per bucket
// setting) opens with this code: migration 3 folds the columns into `buckets.settings` and every
// bucket keeps its CORS, lifecycle and default encryption.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, SCHEMA_VERSION } from '../../src/store/gateway/pg-schema.ts';
import { createGatewayObjectStore } from '../../src/store/gateway/gateway-object-store.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import { expectOldBucketSettingsKept, OLD_BUCKET_ROWS } from '../helpers/old-bucket-settings.ts';

const services = testServices();

describe.skipIf(!services)(
  'gateway store: a database from before the bucket settings shared one column',
  () => {
    let database: TestDatabase;

    beforeEach(async () => {
      database = await createTestDatabase(services!.pgUrl, 'settings_upgrade');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        // Migrations are append-only, so the first two are exactly what the previous release ran.
        await migrate(client, 2);
        const insert = `INSERT INTO buckets (name, created_ms, acl, storage_class, cors, lifecycle, encryption)
        VALUES ($1, 0, $2, $3, $4, $5, $6)`;
        for (const row of OLD_BUCKET_ROWS) await client.query(insert, [...row]);
      } finally {
        await client.end();
      }
    });
    afterEach(async () => {
      await database.drop();
    });

    const open = () =>
      createGatewayObjectStore({
        databaseUrl: database.url,
        s3: services!.s3,
        blobKeyPrefix: `settings-upgrade/${randomBytes(6).toString('hex')}/`,
        gcIntervalMs: 0,
      });

    it('carries every bucket setting over, and the old columns are gone', async () => {
      await expectOldBucketSettingsKept(open);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 'buckets' ORDER BY ordinal_position",
        );
        expect(rows.map((r) => r.column_name)).toEqual([
          'name',
          'created_ms',
          'acl',
          'storage_class',
          'settings',
        ]);
        const version = await client.query<{ version: number }>('SELECT version FROM schema_version');
        expect(version.rows).toEqual([{ version: SCHEMA_VERSION }]);
      } finally {
        await client.end();
      }
    });
  },
);
