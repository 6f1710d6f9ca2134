/**
 * The hook queue's own claim query with two claimers on one database at once (issue 17): every
 * claim while jobs are due gets one, and no job goes to both. SQLite: two connections to one file
 * (each claim is one UPDATE, so no interleaving can split it); PostgreSQL: two pools, truly
 * concurrent (`FOR UPDATE SKIP LOCKED`: without it the loser of a race gets nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServices } from '../../../test/helpers/services.ts';
import { openPgReceiverStore } from './pg-receiver-store.ts';
import { openSqliteReceiverStore } from './sqlite-receiver-store.ts';
import type { HookJobQueue, UploadRepository } from './upload-repository.ts';

const services = testServices();
const JOBS = 80;
/** Claims at once per round, half from each claimer (each PostgreSQL pool runs them side by side). */
const AT_ONCE = 8;

interface Opened {
  uploads: UploadRepository;
  jobs: HookJobQueue;
  close(): Promise<void>;
}

async function claimAllInPairs(a: Opened, b: Opened): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < JOBS / 2; i++) {
    await a.uploads.insert(
      {
        receivedAt: now,
        verified: true,
        vars: {},
        fields: {},
        bodyFormat: 'form',
        target: '/callback',
        headers: {},
        rawBody: new Uint8Array([i]),
      },
      ['first', 'second'],
    );
  }
  const claimed: number[] = [];
  for (let round = 0; round < JOBS / AT_ONCE; round++) {
    const claims = Array.from({ length: AT_ONCE }, (_v, i) => (i % 2 === 0 ? a : b).jobs.claim(now + 1));
    for (const job of await Promise.all(claims)) {
      expect(job, `round ${round}: a claimer came back empty while jobs were due`).toBeDefined();
      claimed.push(job!.id);
    }
  }
  expect(new Set(claimed).size).toBe(JOBS);
  expect(await a.jobs.claim(now + 1)).toBeUndefined();
}

describe('two claimers on one hook queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upcall-claim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: each due job goes to exactly one claimer', async () => {
    const a = await openSqliteReceiverStore(dir);
    const b = await openSqliteReceiverStore(dir);
    try {
      await claimAllInPairs(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(!services)(
    'PostgreSQL: each due job goes to exactly one claimer, none comes back empty',
    async () => {
      const database = await createTestDatabase(services!.pgUrl, 'claim');
      const [a, b] = await Promise.all([
        openPgReceiverStore(database.url),
        openPgReceiverStore(database.url),
      ]);
      try {
        await claimAllInPairs(a, b);
      } finally {
        await a.close();
        await b.close();
        await database.drop();
      }
    },
    30_000,
  );
});
