/**
 * The external services the scale-out tests need (PostgreSQL, an S3-compatible engine), read from
 * the env that scripts/services start-services.sh writes (`source /tmp/upcall-svc/env`). Without
 * that env a suite that needs them is skipped, unless UPCALL_REQUIRE_SERVICES=1 (CI sets it): then
 * a missing service is a failure, so CI can never pass by skipping them.
 *
 *   const services = testServices();
 *   describe.skipIf(!services)('…', () => { … services!.pgUrl … });
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { S3Config } from '../../src/store/gateway/blob-store.ts';

export interface TestServices {
  /** The shared test database; create your own with `createTestDatabase`. */
  pgUrl: string;
  s3: S3Config;
}

/** The services from the env, or undefined when they are not configured (and not required). */
export function testServices(env: NodeJS.ProcessEnv = process.env): TestServices | undefined {
  const pgUrl = env.UPCALL_TEST_PG_URL;
  const endpoint = env.UPCALL_TEST_S3_ENDPOINT;
  if (pgUrl === undefined || endpoint === undefined) {
    if (env.UPCALL_REQUIRE_SERVICES === '1') {
      throw new Error(
        'UPCALL_REQUIRE_SERVICES=1 but UPCALL_TEST_PG_URL / UPCALL_TEST_S3_ENDPOINT are not set: start the services (scripts/services/start-services.sh) and source their env file',
      );
    }
    return undefined;
  }
  return {
    pgUrl,
    s3: {
      endpoint,
      bucket: env.UPCALL_TEST_S3_BUCKET ?? 'upcall-test',
      region: env.UPCALL_TEST_S3_REGION ?? 'us-east-1',
      accessKeyId: env.UPCALL_TEST_S3_ACCESS_KEY ?? '',
      secretAccessKey: env.UPCALL_TEST_S3_SECRET_KEY ?? '',
      pathStyle: env.UPCALL_TEST_S3_FORCE_PATH_STYLE !== '0',
    },
  };
}

export interface TestDatabase {
  url: string;
  /** Drops the database (ending whatever connections remain). */
  drop(): Promise<void>;
}

/** A fresh, empty database on the test cluster, named `upcall_<label>_<random>`. */
export async function createTestDatabase(pgUrl: string, label: string): Promise<TestDatabase> {
  const name = `upcall_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withAdminClient(pgUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // FORCE cannot end an autovacuum worker (not our role's process: SQLSTATE 42501), which a
      // busy test database gets; it finishes in moments, so try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await withAdminClient(pgUrl, (client) =>
            client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
          );
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== '42501' || attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },
  };
}

async function withAdminClient<T>(pgUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * The Ceph RGW engine (scripts/services/ceph-1node.sh writes its env to `$SVC_DIR/ceph-env`), or
 * undefined when it is not configured (and not required: UPCALL_REQUIRE_SERVICES=1 makes a
 * missing engine a failure, as for testServices).
 */
export function testCephS3(env: NodeJS.ProcessEnv = process.env): S3Config | undefined {
  const endpoint = env.UPCALL_TEST_CEPH_S3_ENDPOINT;
  if (endpoint === undefined) {
    if (env.UPCALL_REQUIRE_SERVICES === '1') {
      throw new Error(
        'UPCALL_REQUIRE_SERVICES=1 but UPCALL_TEST_CEPH_S3_ENDPOINT is not set: start Ceph (scripts/services/ceph-1node.sh start) and source its env file',
      );
    }
    return undefined;
  }
  return {
    endpoint,
    bucket: env.UPCALL_TEST_CEPH_S3_BUCKET ?? 'upcall-test',
    region: env.UPCALL_TEST_CEPH_S3_REGION ?? 'us-east-1',
    accessKeyId: env.UPCALL_TEST_CEPH_S3_ACCESS_KEY ?? '',
    secretAccessKey: env.UPCALL_TEST_CEPH_S3_SECRET_KEY ?? '',
    pathStyle: true,
  };
}
