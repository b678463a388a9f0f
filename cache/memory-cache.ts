import { LRUCache } from 'lru-cache';
import { versionedKey, type CacheEntryWrite, type CacheStore, type VersionedRead, type VersionedValue } from './cache-store.ts';

export interface MemoryCacheOptions {
  /** Upper bound on the bytes of cached values (approximate: string lengths). */
  readonly maxBytes: number;
  /** How many generation counters to keep before the oldest are folded into the floor. */
  readonly maxGenerations?: number;
  /** The clock TTLs are measured on (tests advance their own instead of sleeping); default: performance.now. */
  readonly now?: () => number;
}

/**
 * The embedded cache: an LRU bounded by size, with per-entry TTLs.
 *
 * Generations are bounded too, without ever serving stale data: a bump sets a
 * counter to a fresh value from one process-wide clock, and a counter that was
 * evicted reads as the highest value ever evicted (the floor). So a value
 * written under an older generation of a key can never be read again.
 */
export class MemoryCache implements CacheStore {
  readonly name = 'memory';
  private readonly values: LRUCache<string, string>;
  private readonly generations: LRUCache<string, number>;
  private clock = 0;
  private floor = 0;

  constructor(options: MemoryCacheOptions) {
    this.values = new LRUCache<string, string>({
      maxSize: options.maxBytes,
      sizeCalculation: (value, key) => value.length + key.length,
      ttlAutopurge: false,
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    });
    // Bounded by count through maxSize rather than max: lru-cache preallocates
    // its arrays for `max` entries, and 500,000 slots held 8 MB of heap and
    // 6 MB of typed arrays from the start, whether or not a counter was bumped.
    this.generations = new LRUCache<string, number>({
      maxSize: options.maxGenerations ?? 500_000,
      sizeCalculation: () => 1,
      dispose: (generation, _key, reason) => {
        if (reason === 'evict') this.floor = Math.max(this.floor, generation);
      },
    });
  }

  /** The bytes of cached values as counted against maxBytes (string lengths), for the bench's memory report. */
  get bytes(): number {
    return this.values.calculatedSize;
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((k) => this.values.get(k));
  }

  async getVersioned(reads: readonly VersionedRead[]): Promise<VersionedValue[]> {
    return reads.map((r) => {
      const entryKey = versionedKey(
        r.key,
        r.generationKeys.map((k) => this.generations.get(k) ?? this.floor),
      );
      return { entryKey, value: this.values.get(entryKey) };
    });
  }

  async setMany(entries: readonly CacheEntryWrite[]): Promise<void> {
    for (const e of entries) this.values.set(e.key, e.value, { ttl: Math.max(1, Math.round(e.ttlMs)) });
  }

  async getGenerations(keys: readonly string[]): Promise<number[]> {
    return keys.map((k) => this.generations.get(k) ?? this.floor);
  }

  async bumpGenerations(keys: readonly string[]): Promise<void> {
    for (const k of new Set(keys)) this.generations.set(k, ++this.clock);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.values.clear();
  }
}
