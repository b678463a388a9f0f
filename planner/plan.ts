import { RAW_RETENTION_MS, ROLLUPS, type LabelColumn, type RollupDefinition, type RollupName } from '../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { alignDown, alignUp, isoOf } from './interval.ts';
import type { CanonicalQuery, Interval, Plan, PlanFragment, RuleDecision } from './query.ts';
import { STATIC_RULES } from './rules.ts';

/** What the planner knows about the world: passed in, so planning stays pure. */
export interface PlannerState {
  readonly now: number;
  /** Each rollup is complete for every bucket that ends at or before its watermark. */
  readonly watermarks: Readonly<Record<RollupName, number>>;
  /** The catalog's rollups (default: the service catalog's). */
  readonly rollups?: readonly RollupDefinition[];
}

export interface PlanOptions {
  /** Debugging and differential tests: serve everything from raw. */
  readonly forceRaw?: boolean;
}

interface Candidate {
  readonly rollup: RollupDefinition;
  readonly level: readonly LabelColumn[];
}

/**
 * Routes a canonical query: for each rollup, coarsest first, the static rules
 * decide eligibility; an eligible rollup serves the aligned part of the
 * interval that its watermark and retention cover, and the rest (ragged edges,
 * fresh tail) falls to the next rollup and finally to raw.
 */
export function plan(query: CanonicalQuery, state: PlannerState, options: PlanOptions = {}): Plan {
  const decisions: RuleDecision[] = [];
  const candidates: Candidate[] = [];
  if (options.forceRaw) {
    decisions.push({ source: 'raw', rule: 'forced', passed: true, reason: 'forceRaw requested: rollups not considered' });
  } else {
    for (const rollup of [...(state.rollups ?? ROLLUPS)].sort((a, b) => b.bucketMs - a.bucketMs)) {
      const candidate = evaluate(query, rollup, decisions);
      if (candidate) candidates.push(candidate);
    }
  }
  const fragments = cover(query.interval, candidates, query, state, decisions);
  if (!options.forceRaw) checkRawRetention(fragments, state.now);
  return { query, fragments, decisions };
}

function evaluate(query: CanonicalQuery, rollup: RollupDefinition, decisions: RuleDecision[]): Candidate | undefined {
  let level: readonly LabelColumn[] | undefined;
  for (const rule of STATIC_RULES) {
    const result = rule(query, rollup);
    decisions.push({ source: rollup.name, rule: result.rule, passed: result.passed, reason: result.reason });
    if (!result.passed) return undefined;
    level = result.level ?? level;
  }
  return level ? { rollup, level } : undefined;
}

function cover(
  interval: Interval,
  candidates: readonly Candidate[],
  query: CanonicalQuery,
  state: PlannerState,
  decisions: RuleDecision[],
): PlanFragment[] {
  if (interval.end <= interval.start) return [];
  const [candidate, ...rest] = candidates;
  if (!candidate) return [{ source: 'raw', interval, level: undefined, reason: RAW_REASON }];
  const { rollup, level } = candidate;
  const watermark = state.watermarks[rollup.name] ?? 0;
  const oldest = alignUp(state.now - rollup.retentionMs, rollup.bucketMs);
  const core = {
    start: Math.max(alignUp(interval.start, rollup.bucketMs), oldest),
    end: Math.min(alignDown(interval.end, rollup.bucketMs), alignDown(watermark, rollup.bucketMs)),
  };
  if (core.end <= core.start) {
    decisions.push({
      source: rollup.name,
      rule: 'aligned-and-complete',
      passed: false,
      reason: `no whole ${rollup.name} bucket of ${isoOf(interval.start)}/${isoOf(interval.end)} is complete (watermark ${isoOf(watermark)})`,
    });
    return cover(interval, rest, query, state, decisions);
  }
  const fragment: PlanFragment = {
    source: rollup.name,
    interval: core,
    level,
    rollupBucketMs: rollup.bucketMs,
    reason: `aligned to ${rollup.name} buckets and complete up to its watermark ${isoOf(watermark)}`,
  };
  return [
    ...cover({ start: interval.start, end: core.start }, rest, query, state, decisions),
    fragment,
    ...cover({ start: core.end, end: interval.end }, rest, query, state, decisions),
  ];
}

const RAW_REASON = 'no eligible rollup covers this part: a ragged edge, the fresh tail past a watermark, or rules failed';

function checkRawRetention(fragments: readonly PlanFragment[], now: number): void {
  const oldest = now - RAW_RETENTION_MS;
  const tooOld = fragments.find((f) => f.source === 'raw' && f.interval.start < oldest);
  if (tooOld) {
    throw new StrataError(
      ErrorCode.RANGE_BEYOND_RETENTION,
      `Raw data is kept for ${RAW_RETENTION_MS / 86_400_000} days (since ${isoOf(oldest)}), and no rollup covers ${isoOf(tooOld.interval.start)}/${isoOf(tooOld.interval.end)} for this query. Use a coarser granularity (PT1H or P1D), fewer labels, or a later start.`,
      { oldest: isoOf(oldest) },
    );
  }
}
