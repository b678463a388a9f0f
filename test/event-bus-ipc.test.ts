import { forwardedBus, forwardingBus } from '../events/ipc-bus.ts';
import { eventBusContract } from './contracts/event-bus-contract.ts';
import { channelPair } from './helpers/channel-pair.ts';

/** The cluster's embedded-mode buses: the primary forwards, a worker's in-process bus delivers. */
eventBusContract('ipc', async () => {
  const [primary, worker] = channelPair();
  return { publisher: forwardingBus([primary]), subscriber: forwardedBus(worker) };
});
