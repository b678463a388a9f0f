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

/** A value guarded by generation counters: read under `key` + the counters' current values. */
export interface VersionedRead {
  readonly key: string;
  readonly generationKeys: readonly string[];
}

export interface VersionedValue {
  /** The key the value lives under: `key:g<gen>.<gen>…` (see versionedKey). */
  readonly entryKey: string;
  readonly value: string | undefined;
}

/** The one definition of a versioned entry key (the Redis script builds the same string). */
export const versionedKey = (key: string, generations: readonly (number | string)[]): string => `${key}:g${generations.join('.')}`;

export interface CacheStore {
  readonly name: string;
  /** Values in key order; undefined where absent or expired. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Reads the generations of each item and the value under its versioned key,
   * all in one round trip (a DataLoader batch costs one lookup).
   */
  getVersioned(reads: readonly VersionedRead[]): Promise<VersionedValue[]>;
  setMany(entries: readonly CacheEntryWrite[]): Promise<void>;
  /** Generation counters in key order; 0 where never bumped. */
  getGenerations(keys: readonly string[]): Promise<number[]>;
  /** Increments each counter by one (O(1) invalidation: no key is scanned or deleted). */
  bumpGenerations(keys: readonly string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
