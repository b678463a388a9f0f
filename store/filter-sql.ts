import type { Filter } from '../planner/query.ts';

/** How a dialect writes a filter: quoted identifiers, one placeholder per bound value, and "true". */
export interface FilterDialect {
  readonly quote: (identifier: string) => string;
  /** Records a value as the next positional parameter. */
  readonly bind: (value: string) => void;
  readonly alwaysTrue: string;
}

const OPERATORS = { EQ: '=', NEQ: '<>', GT: '>', GTE: '>=', LT: '<', LTE: '<=' } as const;

/** The filter tree as a SQL predicate; every value is a `?` placeholder, never text. */
export function filterPredicate(filter: Filter | undefined, d: FilterDialect): string {
  if (!filter) return d.alwaysTrue;
  switch (filter.kind) {
    case 'and':
      return `(${filter.filters.map((f) => filterPredicate(f, d)).join(' AND ')})`;
    case 'or':
      return `(${filter.filters.map((f) => filterPredicate(f, d)).join(' OR ')})`;
    case 'not':
      return `(NOT ${filterPredicate(filter.filter, d)})`;
    case 'field': {
      const column = d.quote(filter.field);
      filter.values.forEach(d.bind);
      if (filter.op === 'IN') return `${column} IN (${filter.values.map(() => '?').join(', ')})`;
      return `${column} ${OPERATORS[filter.op]} ?`;
    }
  }
}
