/**
 * Builds timeseries documents for the security tests, with the query input
 * either as GraphQL variables or inlined as literals: the two paths coerce
 * input differently (variables: JSON values; literals: the parser), and both
 * must reach the same validation.
 */
export type InputValue = string | number | boolean | null | InputValue[] | { [key: string]: InputValue };

/** Input fields whose values are GraphQL enums: written bare when inlined. */
const ENUM_FIELDS = new Set(['granularity', 'aggregation', 'op', 'source', 'by', 'direction']);

export const SERIES_SELECTION = 'series { labels { key value } points { timestamp value } } pageInfo { hasNextPage endCursor totalSeries }';

/** A GraphQL literal; strings as JSON strings (a GraphQL string literal accepts the same escapes). */
export function literal(value: InputValue, enumField = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, enumField)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v, ENUM_FIELDS.has(k))}`)
      .join(', ')} }`;
  }
  if (typeof value === 'string') return enumField && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) ? value : JSON.stringify(value);
  return String(value);
}

export interface Field {
  readonly alias: string;
  readonly query: Record<string, InputValue>;
}

export interface Document {
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export function timeseriesDocument(fields: readonly Field[], mode: 'variables' | 'inline', selection = SERIES_SELECTION): Document {
  if (mode === 'inline') {
    const body = fields.map((f) => `${f.alias}: timeseries(query: ${literal(f.query)}) { ${selection} }`).join('\n');
    return { query: `{ ${body} }`, variables: {} };
  }
  const params = fields.map((_, i) => `$q${i}: TimeseriesQuery!`).join(', ');
  const body = fields.map((f, i) => `${f.alias}: timeseries(query: $q${i}) { ${selection} }`).join('\n');
  return { query: `query Q(${params}) { ${body} }`, variables: Object.fromEntries(fields.map((f, i) => [`q${i}`, f.query])) };
}

export interface SeriesOut {
  readonly labels: readonly { key: string; value: string }[];
  readonly points: readonly { timestamp: string; value: number }[];
}

/** The series of one alias, or undefined when the field is null (it failed). */
export function seriesOf(data: Record<string, unknown> | null | undefined, alias: string): SeriesOut[] | undefined {
  const field = data?.[alias] as { series?: SeriesOut[] } | null | undefined;
  return field?.series;
}
