// The contract suite against the in-memory reference backend, opened as a server opens it.
import { createObjectStore } from '../../src/store/index.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

runObjectStoreContract('memory', async () => {
  const store = await createObjectStore({ kind: 'memory' });
  return { store, dispose: () => store.close() };
});
