import { KafkaBus } from '../../events/kafka-bus.ts';
import { eventBusContract } from '../contracts/event-bus-contract.ts';
import { serviceEnv } from '../helpers/services.ts';

eventBusContract('kafka', async () => {
  const brokers = serviceEnv('KAFKA_BROKERS').split(',');
  const topic = `strata.contract.${Date.now()}`;
  const publisher = new KafkaBus({ brokers, topic, groupId: `contract-pub-${Date.now()}` });
  const subscriber = new KafkaBus({ brokers, topic, groupId: `contract-sub-${Date.now()}`, retryDelayMs: 20 });
  return { publisher, subscriber };
});
