// What a bench run's gateways left in the shared S3 engine. A gateway deletes a replaced or
// deleted object's blobs only after `--gc-grace` (1 h by default), and the bench stops its gateways
// long before that; dropping their database alone would leave every blob they wrote in the engine
// for good (64 MiB and 2 GiB bodies: a day of bench runs filled a 100 GB disk on 2026-12-07).

/**
 * Deletes from `store` every blob the gateways on `databaseUrl` wrote (referenced by an object or
 * a part, due for the sweep, or an intent a write left) and every key under `prefix` (the direct
 * side's bodies), 100 keys per DeleteObjects: a loaded Swift deletes one key at a time inside it,
 * and 1000 keys outran the client's 30 s. A batch that fails is reported, not thrown: the
 * measurements are already taken.
 * @param {{ databaseUrl: string, store: import('../../src/store/gateway/blob-store.ts').BlobStore, prefix: string, label: string }} opts
 */
export async function deleteGatewayBlobs({ databaseUrl, store, prefix, label }) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  const keys = new Set();
  await client.connect();
  try {
    for (const sql of [
      'SELECT segments::text AS t FROM objects',
      'SELECT segments::text AS t FROM parts',
      'SELECT blob_key AS t FROM blob_gc',
      'SELECT blob_key AS t FROM blob_intent',
    ]) {
      const { rows } = await client.query(sql);
      for (const r of rows) for (const k of String(r.t).match(/blobs\/[0-9a-f]{32}/g) ?? []) keys.add(k);
    }
  } finally {
    await client.end();
  }
  for await (const entry of store.list(prefix)) keys.add(entry.key);
  const all = [...keys];
  for (let i = 0; i < all.length; i += 100) {
    const batch = all.slice(i, i + 100);
    await store.delete(batch).catch((/** @type {Error} */ err) => {
      console.error(`bench: ${label}: ${batch.length} blobs left in the engine: ${err.message}`);
    });
  }
}
