/**
 * The cache contract. The in-process LRU and Redis implement it, and one
 * contract suite (test/contracts/cache-contract.ts) runs against both. Every
 * call is one round trip, so a DataLoader batch costs a fixed number of them.
 */
export interface CacheEntryWrite {
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

export interface CacheStore {
  readonly name: string;
  /** Values in key order; undefined where absent or expired. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  setMany(entries: readonly CacheEntryWrite[]): Promise<void>;
  /** Generation counters in key order; 0 where never bumped. */
  getGenerations(keys: readonly string[]): Promise<number[]>;
  /** Increments each counter by one (O(1) invalidation: no key is scanned or deleted). */
  bumpGenerations(keys: readonly string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
