// The contract suite against the embedded fs backend (blobs + SQLite), each test in a fresh temp dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsObjectStore } from '../../src/store/index.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

runObjectStoreContract('fs', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-store-'));
  const store = await createFsObjectStore({ dataDir });
  return {
    store,
    dispose: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
