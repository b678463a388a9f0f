import { DAY_MS, HOUR_MS, MINUTE_MS } from '../catalog/catalog.ts';
import type { GranularityName } from './query.ts';

interface GranularitySpec {
  /** Bucket width; ALL has none (one bucket for the whole interval). */
  readonly ms: number | undefined;
  /** Longest interval allowed when served from raw (reference Metrics API table). */
  readonly maxRawRangeMs: number | undefined;
}

export const GRANULARITIES: Readonly<Record<GranularityName, GranularitySpec>> = {
  PT1M: { ms: MINUTE_MS, maxRawRangeMs: 6 * HOUR_MS },
  PT5M: { ms: 5 * MINUTE_MS, maxRawRangeMs: DAY_MS },
  PT15M: { ms: 15 * MINUTE_MS, maxRawRangeMs: 4 * DAY_MS },
  PT30M: { ms: 30 * MINUTE_MS, maxRawRangeMs: 7 * DAY_MS },
  PT1H: { ms: HOUR_MS, maxRawRangeMs: undefined },
  PT4H: { ms: 4 * HOUR_MS, maxRawRangeMs: undefined },
  PT6H: { ms: 6 * HOUR_MS, maxRawRangeMs: undefined },
  PT12H: { ms: 12 * HOUR_MS, maxRawRangeMs: undefined },
  P1D: { ms: DAY_MS, maxRawRangeMs: undefined },
  ALL: { ms: undefined, maxRawRangeMs: undefined },
};

export const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as GranularityName[];

/**
 * The bucket width stores compute at. ALL is computed as daily partial states
 * and merged afterwards, so that it can be cached per day like everything else.
 */
export function storeBucketMs(g: GranularityName): number {
  return GRANULARITIES[g].ms ?? DAY_MS;
}

/** Cache chunk width: a whole number of buckets, so a chunk never splits a bucket. */
export function chunkMs(g: GranularityName): number {
  const bucket = storeBucketMs(g);
  return bucket < HOUR_MS ? HOUR_MS : DAY_MS;
}
