// Bucket settings as the release before schema version 3 stored them (one JSON column each), for
// the upgrade tests of both SQL backends: what they write into the old columns and what the
// upgraded store must read back.
import { expect } from 'vitest';
import type { ObjectStore } from '../../src/store/object-store.ts';

export const OLD_CORS = {
  rules: [
    {
      allowedOrigins: ['https://*.example.com'],
      allowedMethods: ['PUT'],
      allowedHeaders: ['*'],
      exposeHeaders: ['ETag'],
      maxAgeSeconds: 60,
    },
  ],
  responseVary: true,
};

export const OLD_LIFECYCLE = {
  rules: [{ id: 'tmp', prefix: 'tmp/', status: 'Enabled' as const, tags: [], expiration: { days: 1 } }],
};

/**
 * The buckets both tests insert, as the old columns held them: name, acl, storage_class, then the
 * cors, lifecycle and encryption JSON (null where unset). `all` has every setting, `some` one,
 * `none` none.
 */
export const OLD_BUCKET_ROWS: readonly (readonly [
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
])[] = [
  ['all', 'private', 'IA', JSON.stringify(OLD_CORS), JSON.stringify(OLD_LIFECYCLE), '{"algorithm":"AES256"}'],
  ['some', 'public-read', 'Standard', null, JSON.stringify(OLD_LIFECYCLE), null],
  ['none', 'private', 'Standard', null, null, null],
];

/**
 * Opens the upgraded store and checks that each bucket of OLD_BUCKET_ROWS reads back its settings,
 * and that a setting put after the upgrade survives the next open (which has nothing left to
 * fold). Leaves the store closed.
 */
export async function expectOldBucketSettingsKept(open: () => Promise<ObjectStore>): Promise<void> {
  let store = await open();
  try {
    expect(await store.getBucketSetting('all', 'cors')).toEqual(OLD_CORS);
    expect(await store.getBucketSetting('all', 'lifecycle')).toEqual(OLD_LIFECYCLE);
    expect(await store.getBucketSetting('all', 'encryption')).toEqual({ algorithm: 'AES256' });
    expect(await store.getBucketSetting('some', 'cors')).toBeUndefined();
    expect(await store.getBucketSetting('some', 'lifecycle')).toEqual(OLD_LIFECYCLE);
    expect(await store.getBucketSetting('some', 'encryption')).toBeUndefined();
    for (const name of ['cors', 'lifecycle', 'encryption'] as const)
      expect(await store.getBucketSetting('none', name)).toBeUndefined();
    expect(await store.getBucket('all')).toMatchObject({ acl: 'private', storageClass: 'IA' });
    await store.putBucketSetting('none', 'encryption', { algorithm: 'AES256' });
    await store.close();
    store = await open();
    expect(await store.getBucketSetting('none', 'encryption')).toEqual({ algorithm: 'AES256' });
    expect(await store.getBucketSetting('all', 'cors')).toEqual(OLD_CORS);
  } finally {
    await store.close();
  }
}
