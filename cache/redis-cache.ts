import { Cluster, Redis, type ClusterNode } from 'ioredis';
import type { CacheEntryWrite, CacheStore, VersionedRead, VersionedValue } from './cache-store.ts';
import { failFastRedisOptions } from './redis-options.ts';

export interface RedisCacheOptions {
  /** redis://host:port for one server, or several nodes for Redis Cluster. */
  readonly url?: string;
  readonly clusterNodes?: readonly string[];
  /** Bound on every command: a slow or hung Redis costs a query at most this. */
  readonly commandTimeoutMs: number;
}

type Client = Redis | Cluster;

type VersionedClient = { strataGetVersioned(...args: string[]): Promise<unknown> };

/**
 * One round trip for a whole lookup: for each item, read its generation
 * counters, build the versioned key exactly as versionedKey() does, and read
 * the value. ARGV: n, then per item: key, count, counter keys...
 */
const GET_VERSIONED = `
local out = {}
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local key = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local gens = {}
  for j = 1, count do gens[j] = redis.call('GET', ARGV[i + 1 + j]) or '0' end
  local entry = key .. ':g' .. table.concat(gens, '.')
  out[#out + 1] = entry
  out[#out + 1] = redis.call('GET', entry) or false
  i = i + 2 + count
end
return out`;

/**
 * The production cache on Redis (ioredis). A cache outage must never fail or
 * stall a query, so: every command has a short timeout, nothing queues while
 * disconnected (the offline queue is off), and reconnection runs in the
 * background with backoff. Callers treat any rejection as a miss.
 *
 * Keys carry a hash tag (`{t:tenant}`) so that a tenant's keys share one
 * Cluster slot: the one-round-trip MGET of a DataLoader batch works there too.
 * Generation counters are keys without TTL; run Redis with a `volatile-*`
 * eviction policy so that they are never evicted before the values they guard.
 */
export class RedisCache implements CacheStore {
  readonly name = 'redis';
  private readonly client: Client;

  constructor(options: RedisCacheOptions) {
    const common = failFastRedisOptions(options.commandTimeoutMs);
    if (options.clusterNodes && options.clusterNodes.length > 0) {
      const nodes: ClusterNode[] = options.clusterNodes.map((n) => {
        const u = new URL(n);
        return { host: u.hostname, port: Number(u.port || 6379) };
      });
      this.client = new Cluster(nodes, { redisOptions: common, enableOfflineQueue: false, clusterRetryStrategy: common.retryStrategy });
    } else {
      this.client = new Redis(options.url ?? 'redis://127.0.0.1:6379', common);
    }
    // A defined command is sent as EVALSHA (the script body travels once per connection).
    this.client.defineCommand('strataGetVersioned', { numberOfKeys: 1, lua: GET_VERSIONED });
    // Errors surface through command rejections; an unhandled 'error' event would crash the process.
    this.client.on('error', () => undefined);
  }

  /**
   * Waits until connected, up to a bound. Start-up uses it so the first
   * requests find the cache; a Redis that is down only means misses until it
   * comes back, so this never fails.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(...keys);
    return values.map((v) => v ?? undefined);
  }

  async getVersioned(reads: readonly VersionedRead[]): Promise<VersionedValue[]> {
    if (reads.length === 0) return [];
    const args: string[] = [String(reads.length)];
    for (const r of reads) args.push(r.key, String(r.generationKeys.length), ...r.generationKeys);
    // Keys are passed as ARGV because they are built from counters inside the script; all of a
    // batch's keys share one hash tag (one tenant), hence one Cluster slot: routed by the first.
    const first = reads[0]?.key ?? '';
    const reply = (await (this.client as unknown as VersionedClient).strataGetVersioned(first, ...args)) as (string | null)[];
    const values: VersionedValue[] = [];
    for (let i = 0; i < reply.length; i += 2) values.push({ entryKey: String(reply[i]), value: reply[i + 1] ?? undefined });
    return values;
  }

  async setMany(entries: readonly CacheEntryWrite[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.client.pipeline();
    for (const e of entries) pipeline.set(e.key, e.value, 'PX', Math.max(1, Math.round(e.ttlMs)));
    await execOrThrow(pipeline.exec());
  }

  async getGenerations(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(...keys);
    return values.map((v) => Number(v ?? 0));
  }

  async bumpGenerations(keys: readonly string[]): Promise<void> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return;
    if (this.client instanceof Cluster) {
      // Keys of several tenants span slots: one INCR each, sent concurrently.
      await Promise.all(unique.map((k) => this.client.incr(k)));
      return;
    }
    const pipeline = this.client.pipeline();
    for (const k of unique) pipeline.incr(k);
    await execOrThrow(pipeline.exec());
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

async function execOrThrow(result: Promise<[Error | null, unknown][] | null>): Promise<void> {
  const replies = await result;
  const failed = replies?.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}
