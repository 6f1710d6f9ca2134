// The contract suite against the in-memory reference backend.
import { createMemoryObjectStore } from '../../src/store/index.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

runObjectStoreContract('memory', async () => {
  const store = createMemoryObjectStore();
  return { store, dispose: () => store.close() };
});
