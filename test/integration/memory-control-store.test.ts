import { describeControlStoreContract } from '../helpers/control-store-contract.js';
import { MemoryControlStore } from '../helpers/memory-control-store.js';

/** The in-memory fake the unit tests use behaves as the real stores do. */
describeControlStoreContract('in memory (unit-test fake)', async () => {
  let store = new MemoryControlStore();
  const fixture = {
    store,
    revoke: async (keyHash: string) => {
      const key = store.keys.find((k) => k.keyHash === keyHash);
      if (key !== undefined) key.revokedAt = new Date();
    },
    // The same memory after a "restart".
    reopen: async () => {
      fixture.store = store;
    },
    close: async () => {
      store = new MemoryControlStore();
    },
  };
  return fixture;
});
