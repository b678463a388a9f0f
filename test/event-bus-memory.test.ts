import { MemoryBus } from '../events/memory-bus.ts';
import { eventBusContract } from './contracts/event-bus-contract.ts';

eventBusContract('memory', async () => {
  const bus = new MemoryBus();
  return { publisher: bus, subscriber: bus };
});
