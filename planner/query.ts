import type { Aggregation, Datasource, GroupKey, LabelColumn, MetricDefinition } from '../catalog/catalog.ts';

/** Who the query runs for. The tenant comes from the verified token only. */
export type TenantScope = { readonly kind: 'tenant'; readonly tenantId: string } | { readonly kind: 'all' };

export const scopeId = (scope: TenantScope): string => (scope.kind === 'tenant' ? `t:${scope.tenantId}` : '*');

/** The scopes whose answers data of these tenants feeds: each tenant's own, and the all-tenants scope. */
export const scopesOfTenants = (tenants: readonly string[]): string[] => [
  ...tenants.map((tenantId) => scopeId({ kind: 'tenant', tenantId })),
  scopeId({ kind: 'all' }),
];

export type FilterOp = 'EQ' | 'NEQ' | 'IN' | 'GT' | 'GTE' | 'LT' | 'LTE';

/** A normalised filter tree over label values (strings, compared lexicographically). */
export type Filter =
  | { readonly kind: 'field'; readonly field: GroupKey; readonly op: FilterOp; readonly values: readonly string[] }
  | { readonly kind: 'and'; readonly filters: readonly Filter[] }
  | { readonly kind: 'or'; readonly filters: readonly Filter[] }
  | { readonly kind: 'not'; readonly filter: Filter };

export type GranularityName = 'PT1M' | 'PT5M' | 'PT15M' | 'PT30M' | 'PT1H' | 'PT4H' | 'PT6H' | 'PT12H' | 'P1D' | 'ALL';

export interface Interval {
  readonly start: number; // epoch ms, inclusive
  readonly end: number; // epoch ms, exclusive
}

export interface OrderBy {
  readonly by: 'VALUE' | 'LABELS';
  readonly direction: 'ASC' | 'DESC';
}

/** The canonical form of a timeseries query: computed once, used for plans and keys. */
export interface CanonicalQuery {
  readonly scope: TenantScope;
  readonly metric: MetricDefinition;
  readonly aggregation: Aggregation;
  readonly granularity: GranularityName;
  readonly interval: Interval;
  readonly filter: Filter | undefined;
  readonly groupBy: readonly GroupKey[]; // sorted, unique
  readonly orderBy: OrderBy;
  readonly limit: number;
  readonly offset: number;
}

/** One part of a plan: a source serving a sub-interval, and why. */
export interface PlanFragment {
  readonly source: Datasource;
  readonly interval: Interval;
  /** For rollups: the label level read (sorted labels, resource_id implied). */
  readonly level: readonly LabelColumn[] | undefined;
  /** For rollups: the rollup's bucket (a store reads rows at that bucket as they are). */
  readonly rollupBucketMs?: number;
  readonly reason: string;
}

export interface RuleDecision {
  readonly source: Datasource;
  readonly rule: string;
  readonly passed: boolean;
  readonly reason: string;
}

export interface Plan {
  readonly query: CanonicalQuery;
  readonly fragments: readonly PlanFragment[];
  readonly decisions: readonly RuleDecision[];
}

/** Partial aggregate state of one bucket of one group: merges exactly across disjoint time ranges. */
export interface PartialState {
  sum: number;
  min: number | null;
  max: number | null;
  minutes: number | null;
  samples: number;
}

/** One row a store returns for a piece: a bucket of a group with its partial state. */
export interface PartialRow extends PartialState {
  readonly bucket: number;
  readonly labels: Readonly<Partial<Record<GroupKey, string | null>>>;
}
