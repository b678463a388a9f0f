import { type Replica, post, startReplica } from '../helpers/edge-server.ts';
import { seededStore } from '../helpers/fixture.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';

/** A replica on the small seeded dataset, without the whole-response cache (every request reaches Apollo). */
export async function observedReplica(): Promise<{ replica: Replica; store: DuckDbStore; cluster: string }> {
  const store = await seededStore();
  const replica = await startReplica(store, { STRATA_RESPONSE_CACHE_TTL: '0', STRATA_METRICS_OPERATIONS: 'Panel,Fleet' });
  const cluster = replica.app.services.resources.list('t-1')[0]?.resourceId;
  if (!cluster) throw new Error('the seeded dataset has no cluster for t-1');
  return { replica, store, cluster };
}

/** A named operation: one hourly panel of one cluster (a rollup fragment plus the raw tail). */
export function panelDocument(cluster: string, name = 'Panel'): string {
  return `query ${name} { timeseries(query: { metric: "io.confluent.kafka.server/received_bytes", granularity: PT1H, interval: "now-24h/now",
    groupBy: ["topic"], filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { series { points { value } } plan { fragments { source } } } }`;
}

export async function query(replica: Replica, token: string, document: string, headers: Record<string, string> = {}): Promise<void> {
  const answer = await post(`${replica.base}/graphql`, token, JSON.stringify({ query: document }), headers);
  if (answer.status !== 200 || answer.body.errors) throw new Error(`query failed: ${answer.status} ${JSON.stringify(answer.body.errors)}`);
}
