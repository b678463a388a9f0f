import type { GroupKey, LabelColumn, RollupDefinition } from '../catalog/catalog.ts';
import { GRANULARITIES } from './granularity.ts';
import type { CanonicalQuery, Filter } from './query.ts';

/**
 * Named routing rules, evaluated for one rollup against a normalised query.
 * Each returns a reason whether it passes or not: the plan explains itself.
 * These are the static rules; the watermark and retention bound the interval
 * a rollup serves and are applied by the planner when it splits.
 */
export interface RuleResult {
  readonly rule: string;
  readonly passed: boolean;
  readonly reason: string;
  /** The level the rollup would be read at, when the level rule passed. */
  readonly level?: readonly LabelColumn[];
}

export type Rule = (q: CanonicalQuery, r: RollupDefinition) => RuleResult;

const ADDITIVE = new Set(['SUM', 'COUNT']);

export const metricPresent: Rule = (q, r) => {
  const passed = (r.levels[q.metric.name]?.length ?? 0) > 0;
  return {
    rule: 'metric-present',
    passed,
    reason: passed ? `${r.name} holds ${q.metric.name}` : `${r.name} does not hold ${q.metric.name}`,
  };
};

export const granularityMultiple: Rule = (q, r) => {
  const ms = GRANULARITIES[q.granularity].ms;
  const passed = ms === undefined || ms % r.bucketMs === 0;
  return {
    rule: 'granularity-multiple',
    passed,
    reason: passed
      ? `${q.granularity} is a whole number of ${r.name} buckets`
      : `${q.granularity} is finer than or not a multiple of ${r.name}'s ${r.bucketMs / 60_000}-minute buckets`,
  };
};

/**
 * Labels the query needs at row level: group-by and filter labels (except
 * resource_id, which every level carries).
 */
export function neededLabels(q: CanonicalQuery): Set<LabelColumn> {
  const labels = new Set<LabelColumn>();
  for (const key of [...q.groupBy, ...filterFields(q.filter)]) if (key !== 'resource_id') labels.add(key);
  return labels;
}

/**
 * The query's label level: group-by labels plus labels fixed to one value by
 * an equality at the top of the filter. Returns undefined when some filtered
 * label is neither (e.g. topic IN (a, b) without grouping by topic): then the
 * per-minute space sum spans several rollup rows and MIN/MAX/AVG cannot be
 * derived from per-row time aggregates.
 */
export function queryLevel(q: CanonicalQuery): { labels: Set<string>; exact: boolean } {
  const fixed = fixedLabels(q.groupBy, q.filter);
  const exact = [...filterFields(q.filter)].every((field) => fixed.has(field));
  return { labels: fixed, exact };
}

/** Labels with one value per series: the group-by labels and those an equality at the top of the filter fixes. */
export function fixedLabels(groupBy: readonly GroupKey[], filter: Filter | undefined): Set<string> {
  const fixed = new Set<string>(groupBy);
  for (const f of topConjuncts(filter)) if (f.kind === 'field' && f.op === 'EQ') fixed.add(f.field);
  return fixed;
}

export const labelLevel: Rule = (q, r) => {
  const levels = r.levels[q.metric.name] ?? [];
  if (ADDITIVE.has(q.aggregation)) {
    const needed = neededLabels(q);
    const covering = levels.filter((l) => [...needed].every((n) => l.includes(n)));
    const best = covering.sort((a, b) => a.length - b.length)[0];
    return best
      ? {
          rule: 'labels-covered',
          passed: true,
          reason: `${q.aggregation} is additive: re-summed from level [${best.join(',')}]`,
          level: best,
        }
      : { rule: 'labels-covered', passed: false, reason: `no ${r.name} level holds labels [${[...needed].join(',')}]` };
  }
  const { labels, exact } = queryLevel(q);
  if (!exact) {
    return {
      rule: 'exact-level',
      passed: false,
      reason: `${q.aggregation} is not additive and a filtered label is neither grouped nor fixed by EQ`,
    };
  }
  if (!labels.has('resource_id')) {
    return {
      rule: 'exact-level',
      passed: false,
      reason: `${q.aggregation} across clusters needs the per-minute sum over clusters: not in ${r.name}`,
    };
  }
  labels.delete('resource_id');
  const match = levels.find((l) => l.length === labels.size && l.every((x) => labels.has(x)));
  return match
    ? { rule: 'exact-level', passed: true, reason: `${q.aggregation} served at its exact level [${match.join(',')}]`, level: match }
    : {
        rule: 'exact-level',
        passed: false,
        reason: `${q.aggregation} is not additive and ${r.name} has no level [${[...labels].sort().join(',')}]`,
      };
};

export const STATIC_RULES: readonly Rule[] = [metricPresent, granularityMultiple, labelLevel];

export function topConjuncts(filter: Filter | undefined): Filter[] {
  if (!filter) return [];
  return filter.kind === 'and' ? filter.filters.flatMap(topConjuncts) : [filter];
}

export function filterFields(filter: Filter | undefined): Set<GroupKey> {
  const fields = new Set<GroupKey>();
  const walk = (f: Filter): void => {
    if (f.kind === 'field') fields.add(f.field);
    else if (f.kind === 'not') walk(f.filter);
    else f.filters.forEach(walk);
  };
  if (filter) walk(filter);
  return fields;
}
