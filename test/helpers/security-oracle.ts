import type { Ownership, EdgeResponse } from './security-edge.ts';
import { seriesOf, type InputValue } from './security-graphql.ts';

/** Who sends a request in the isolation tests. */
export type Caller = { readonly role: 'customer'; readonly tenant: string } | { readonly role: 'internal' } | { readonly role: 'billing' };

export const callerName = (c: Caller): string => (c.role === 'customer' ? `customer ${c.tenant}` : c.role);

/** One timeseries field with concrete ids, as sent. */
export interface ResolvedField {
  readonly alias: string;
  readonly query: Record<string, InputValue>;
  /** resource_id values the filter names at its top level (what authorization checks). */
  readonly clusters: readonly string[];
  /** The tenant whose private topic the filter asks for, if any. */
  readonly privateTopicOf: string | undefined;
  readonly raw: boolean;
}

/**
 * The answer a field must get, derived from the ownership oracle and the
 * README's role table only (never from Strata's code): an error code, or
 * success with series that must be non-empty or empty.
 */
export function expectedOutcome(caller: Caller, f: ResolvedField, own: Ownership): { code: string } | { empty: boolean } {
  if (caller.role === 'billing') return { code: 'FORBIDDEN' };
  if (f.raw && caller.role !== 'internal') return { code: 'FORBIDDEN' };
  if (caller.role === 'customer' && f.clusters.length === 0) return { code: 'RESOURCE_FILTER_REQUIRED' };
  const visible = (k: string): boolean => {
    const owner = own.ownerOf.get(k);
    return owner !== undefined && (caller.role === 'internal' || owner === caller.tenant);
  };
  if (!f.clusters.every(visible)) return { code: 'RESOURCE_NOT_FOUND' };
  const topicOwner = f.privateTopicOf;
  const empty = topicOwner !== undefined && f.clusters.length > 0 && f.clusters.every((k) => own.ownerOf.get(k) !== topicOwner);
  return { empty };
}

/** Strings that must never appear in an answer to `caller` unless the request itself contained them. */
export function forbiddenStrings(caller: Caller, own: Ownership, requestText: string): string[] {
  if (caller.role !== 'customer') return [];
  const foreign = own.tenants.filter((t) => t !== caller.tenant);
  const strings = [
    ...foreign,
    ...foreign.flatMap((t) => own.clustersOf.get(t) ?? []),
    ...[...own.privateTopicOwner].filter(([, t]) => t !== caller.tenant).map(([topic]) => topic),
  ];
  return strings.filter((s) => !requestText.includes(s));
}

/** Checks one response against the oracle; returns a description of every violation. */
export function violations(
  caller: Caller,
  fields: readonly ResolvedField[],
  response: EdgeResponse,
  own: Ownership,
  requestText: string,
): string[] {
  const out: string[] = [];
  if (response.status >= 500) out.push(`HTTP ${response.status}`);
  const errors = response.body.errors ?? [];
  for (const e of errors) if (e.extensions?.['code'] === 'INTERNAL') out.push(`INTERNAL: ${e.message}`);
  for (const f of fields) {
    const want = expectedOutcome(caller, f, own);
    const got = errors.find((e) => JSON.stringify((e as { path?: unknown }).path ?? []) === JSON.stringify([f.alias]));
    const series = seriesOf(response.body.data, f.alias);
    if ('code' in want) {
      if (got?.extensions?.['code'] !== want.code || series !== undefined)
        out.push(`${f.alias}: want ${want.code}, got ${JSON.stringify(got ?? series?.length)}`);
      continue;
    }
    if (!series) {
      out.push(`${f.alias}: want data, got ${JSON.stringify(got)}`);
      continue;
    }
    if (want.empty !== (series.length === 0)) out.push(`${f.alias}: want ${want.empty ? 'no' : 'some'} series, got ${series.length}`);
    for (const s of series) out.push(...labelViolations(caller, f, s.labels, own));
  }
  const text = response.text.replace(/"endCursor":"[^"]*"/g, '');
  for (const s of forbiddenStrings(caller, own, requestText)) if (text.includes(s)) out.push(`answer contains foreign "${s}"`);
  return out;
}

function labelViolations(caller: Caller, f: ResolvedField, labels: readonly { key: string; value: string }[], own: Ownership): string[] {
  const out: string[] = [];
  for (const { key, value } of labels) {
    if (key === 'resource_id') {
      const owner = own.ownerOf.get(value);
      if (owner === undefined) out.push(`${f.alias}: unknown cluster ${value}`);
      if (caller.role === 'customer' && owner !== caller.tenant) out.push(`${f.alias}: cluster ${value} of ${owner}`);
      if (f.clusters.length > 0 && !f.clusters.includes(value)) out.push(`${f.alias}: cluster ${value} outside the filter`);
    }
    if (key === 'topic') {
      const owner = own.privateTopicOwner.get(value);
      if (caller.role === 'customer' && owner !== undefined && owner !== caller.tenant) out.push(`${f.alias}: topic ${value} of ${owner}`);
    }
  }
  return out;
}
