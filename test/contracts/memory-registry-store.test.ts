// Runs the RegistryStore contract against the in-memory adapter.
import { MemoryRegistryStore } from '../../src/adapters/memory/registry-store.js';
import { registryStoreContract } from './registry-store.contract.js';

registryStoreContract('memory', async () => {
  const store = new MemoryRegistryStore();
  return { store, cleanup: () => store.close() };
});
