// The in-process carrier against the purge bus contract.
import { InProcessHub } from './in-process-bus.js';
import { purgeBusContract } from './bus-contract.js';
import { nodeIdentity } from './node-identity.js';

purgeBusContract('in-process', async () => {
  const hub = new InProcessHub();
  return { join: async (name) => hub.join(nodeIdentity(name)), close: async () => {} };
});
