import { Redis } from 'ioredis';
import type { App } from '../../api/app.ts';
import type { Role } from '../../auth/principal.ts';
import { DAY_MS } from '../../catalog/catalog.ts';
import type { Env } from '../../config/config.ts';
import { alignDown } from '../../planner/interval.ts';
import type { MetricStore, StoreRequest } from '../../store/metric-store.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seedStore } from '../../store/duckdb/seed-file.ts';
import { startReplica } from './edge-server.ts';
import { SMALL } from './fixture.ts';

/**
 * The real HTTP edge in-process (createApp + createHttpServer on 127.0.0.1,
 * port 0), for the security tests: tokens are minted with the app's own key
 * and every request goes through node:http, auth, Apollo and masking.
 */
export interface Edge {
  readonly url: string;
  readonly app: App;
  token(role: Role, tenantId?: string): string;
  post(token: string, query: string, variables?: Record<string, unknown>): Promise<EdgeResponse>;
  close(): Promise<void>;
}

export interface EdgeError {
  readonly message: string;
  readonly extensions?: Record<string, unknown>;
}

export interface EdgeResponse {
  readonly status: number;
  readonly text: string;
  readonly body: { data?: Record<string, unknown> | null; errors?: EdgeError[] };
}

export async function startEdge(store: MetricStore, env: Partial<Record<keyof Env, string>> = {}): Promise<Edge> {
  const replica = await startReplica(store, env);
  const { app } = replica;
  const url = `${replica.base}/graphql`;
  const tokens = new Map<string, string>();
  return {
    url,
    app,
    token(role, tenantId) {
      const id = `${role}:${tenantId ?? ''}`;
      const existing = tokens.get(id);
      if (existing) return existing;
      const minted = replica.token(role, tenantId);
      tokens.set(id, minted);
      return minted;
    },
    async post(token, query, variables = {}) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      let body: EdgeResponse['body'];
      try {
        body = JSON.parse(text) as EdgeResponse['body'];
      } catch {
        body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
      }
      return { status: response.status, text, body };
    },
    close: replica.stop,
  };
}

/** Tenant ids of the security dataset: the seed's t-1, t-2, and t-3 renamed to use every allowed character class. */
export const ODD_TENANT = 'Acme.EU_3-x';

/**
 * The fixture's small dataset (2 days) with two changes that make leaks
 * visible: tenant t-3 is renamed to ODD_TENANT, and every tenant gets a
 * topic only it has (`private-<tenant>`), so a foreign topic label is proof
 * of a leak. Rollups are rebuilt after the changes.
 */
export async function securityStore(): Promise<DuckDbStore> {
  const store = await DuckDbStore.open(':memory:');
  await seedStore(store, { ...SMALL, days: 2 });
  for (const table of ['telemetry_raw', 'resources'])
    await store.exec(`UPDATE ${table} SET tenant_id = ? WHERE tenant_id = 't-3'`, [ODD_TENANT]);
  await store.exec(
    `INSERT INTO telemetry_raw SELECT __time, tenant_id, resource_id, metric, 'private-' || tenant_id, partition, principal_id, request_type, consumer_group_id, value
     FROM telemetry_raw WHERE topic = 'orders'`,
    [],
  );
  const watermarks = await store.readWatermarks();
  const range = await store.rawDataRange();
  const start = alignDown(range?.start ?? 0, DAY_MS);
  for (const [rollup, end] of Object.entries(watermarks)) await store.buildRollup(rollup, { start, end });
  return store;
}

/** Ground truth read straight from DuckDB: who owns which cluster and which topic. */
export interface Ownership {
  readonly tenants: readonly string[];
  readonly clustersOf: ReadonlyMap<string, readonly string[]>;
  readonly ownerOf: ReadonlyMap<string, string>;
  /** Topics exactly one tenant has, with that tenant. */
  readonly privateTopicOwner: ReadonlyMap<string, string>;
}

export async function ownership(store: DuckDbStore): Promise<Ownership> {
  const resources = await store.read('SELECT tenant_id, resource_id FROM resources ORDER BY 1, 2', []);
  const topics = await store.read(
    'SELECT topic, min(tenant_id) AS t, count(DISTINCT tenant_id) AS n FROM telemetry_raw WHERE topic IS NOT NULL GROUP BY topic',
    [],
  );
  const clustersOf = new Map<string, string[]>();
  const ownerOf = new Map<string, string>();
  for (const r of resources) {
    const t = String(r['tenant_id']);
    const k = String(r['resource_id']);
    clustersOf.set(t, [...(clustersOf.get(t) ?? []), k]);
    ownerOf.set(k, t);
  }
  const privateTopicOwner = new Map(topics.filter((r) => Number(r['n']) === 1).map((r) => [String(r['topic']), String(r['t'])]));
  return { tenants: [...clustersOf.keys()], clustersOf, ownerOf, privateTopicOwner };
}

/**
 * A MetricStore that wraps the real DuckDB store, optionally delays piece
 * queries (so concurrent identical requests overlap), and records the scope
 * of every call: the test asserts that no store call ever mixes tenants.
 */
export class RecordingStore implements MetricStore {
  readonly name: string;
  delayMs = 0;
  /** While set, every piece query waits for it (a deterministic "slow store"). */
  gate: Promise<void> | undefined;
  readonly calls: { scopes: string[]; keys: string[] }[] = [];

  constructor(private readonly inner: MetricStore) {
    this.name = inner.name;
  }

  async queryPieces(request: StoreRequest): ReturnType<MetricStore['queryPieces']> {
    this.calls.push({
      scopes: [...new Set(request.pieces.map((p) => (p.scope.kind === 'tenant' ? p.scope.tenantId : '*')))],
      keys: request.pieces.map((p) => p.key),
    });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.gate) await this.gate;
    return this.inner.queryPieces(request);
  }

  listResources: MetricStore['listResources'] = (scope) => this.inner.listResources(scope);
  usage: MetricStore['usage'] = (request) => this.inner.usage(request);
  readWatermarks: MetricStore['readWatermarks'] = () => this.inner.readWatermarks();
  rawDataRange: MetricStore['rawDataRange'] = () => this.inner.rawDataRange();
  buildRollup: MetricStore['buildRollup'] = (rollup, interval) => this.inner.buildRollup(rollup, interval);
  ping: MetricStore['ping'] = () => this.inner.ping();
  close: MetricStore['close'] = async () => undefined; // the inner store belongs to the test
}

/**
 * The suite's Redis (REDIS_URL, started by `npm test`), on a logical database
 * of this file's own, emptied first: entries other test files left (other
 * datasets under the same tenant ids) must not be read as this dataset's.
 */
export async function redisUrlForTest(db: number): Promise<string> {
  const base = process.env['REDIS_URL'];
  if (!base)
    throw new Error('REDIS_URL is not set: run the suite with `npm test`, which starts Redis on loopback (or scripts/redis.sh start).');
  const url = `${base.replace(/\/\d*$/, '')}/${db}`;
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await admin.flushdb();
  } finally {
    admin.disconnect();
  }
  return url;
}
