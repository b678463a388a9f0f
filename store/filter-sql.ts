import type { GroupKey } from '../catalog/catalog.ts';
import type { Filter } from '../planner/query.ts';
import { join, sql, type Sql } from './sql-fragment.ts';

/** How a dialect writes a filter: its quoted identifiers and its "true". */
export interface FilterDialect {
  readonly ident: (field: GroupKey) => Sql;
  readonly alwaysTrue: Sql;
}

const OPERATORS = { EQ: sql`=`, NEQ: sql`<>`, GT: sql`>`, GTE: sql`>=`, LT: sql`<`, LTE: sql`<=` } as const;

/** The filter tree as a SQL predicate; every value is a `?` placeholder, never text. */
export function filterPredicate(filter: Filter | undefined, d: FilterDialect): Sql {
  if (!filter) return d.alwaysTrue;
  switch (filter.kind) {
    case 'and':
      return combined(filter.filters, ' AND ', d);
    case 'or':
      return combined(filter.filters, ' OR ', d);
    case 'not':
      return sql`(NOT ${filterPredicate(filter.filter, d)})`;
    case 'field':
      return fieldPredicate(filter, d);
  }
}

function combined(filters: readonly Filter[], separator: string, d: FilterDialect): Sql {
  const parts = filters.map((f) => filterPredicate(f, d));
  return sql`(${join(parts, separator)})`;
}

function fieldPredicate(filter: Extract<Filter, { kind: 'field' }>, d: FilterDialect): Sql {
  const column = d.ident(filter.field);
  const [value, ...more] = filter.values;
  // The normalizer guarantees these; a breach would be invalid SQL (IN ()) or a silently dropped value.
  if (value === undefined) throw new Error(`a filter on ${filter.field} has no value`);
  if (filter.op === 'IN') return sql`${column} IN (${join(filter.values.map((v) => sql`${v}`))})`;
  if (more.length > 0) throw new Error(`${filter.op} on ${filter.field} takes one value`);
  return sql`${column} ${OPERATORS[filter.op]} ${value}`;
}
