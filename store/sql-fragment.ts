/**
 * SQL as fragments that carry their own parameters, for both dialects (DuckDB
 * and Druid take positional `?` placeholders). A fragment is only ever made
 * here: by the `sql` tag, whose interpolated values become `?` + a parameter
 * and whose interpolated fragments are spliced in with their parameters, by
 * `join`, or by `ident` and `raw`, which check what they let into the text.
 * So text and parameters cannot drift apart, and every `?` in a fragment's
 * text is a placeholder: exactly one per parameter, in order.
 */

/** What a placeholder may bind. */
export type SqlValue = string | number;

const FRAGMENT: unique symbol = Symbol('sql fragment');

export interface Sql {
  readonly text: string;
  readonly params: readonly SqlValue[];
  /** Marks fragments made by this module: a plain `{ text, params }` cannot pass for one. */
  readonly [FRAGMENT]: true;
}

const fragment = (text: string, params: readonly SqlValue[]): Sql =>
  Object.freeze({ text, params: Object.freeze(params), [FRAGMENT]: true as const });

export const isSql = (value: unknown): value is Sql =>
  typeof value === 'object' && value !== null && (value as Partial<Sql>)[FRAGMENT] === true;

/** Literal text may not hold a `?` (it would be a placeholder with no parameter). */
function checkLiteral(text: string): string {
  if (text.includes('?')) throw new TypeError('SQL text may not contain "?": interpolate the value instead');
  return text;
}

function checkValue(value: unknown): SqlValue {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new TypeError(`not a SQL value or fragment: ${typeof value === 'number' ? String(value) : typeof value}`);
}

/**
 * The tag: sql`metric = ${name} AND ${other}`. A template's strings array is
 * frozen by the language; a hand-built one is refused, as that is how text
 * made from a value would get past the tag.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly (SqlValue | Sql)[]): Sql {
  if (!Object.isFrozen(strings) || !Array.isArray(strings.raw)) throw new TypeError('sql must be used as a template tag');
  let text = checkLiteral(strings[0] ?? '');
  const params: SqlValue[] = [];
  for (const [i, value] of values.entries()) {
    if (isSql(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(checkValue(value));
    }
    text += checkLiteral(strings[i + 1] ?? '');
  }
  return fragment(text, params);
}

export const empty: Sql = fragment('', []);

/**
 * Code-made text that is neither a value nor an identifier: a small integer
 * (a branch index, a GROUP BY ordinal) or keywords and operators. No quotes,
 * placeholders, statement ends or comments, so no literal or parameter can
 * come in this way.
 */
export function raw(text: string | number): Sql {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text)) throw new TypeError(`raw SQL number must be a safe integer: ${text}`);
    return fragment(String(text), []);
  }
  if (!/^[\w\s,.()*=<>+/-]*$/.test(text) || text.includes('--') || text.includes('/*')) {
    throw new TypeError(`raw SQL text may hold only words, numbers, spaces and , . ( ) * = < > + - /: ${JSON.stringify(text)}`);
  }
  return fragment(text, []);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A quoted identifier. Names come from the catalog, never from a request, and
 * must be plain words; quoting still matters for reserved words ("partition",
 * "value"). `quote` is the dialect's quoting (Druid's is druid-query-toolkit's).
 */
export function ident(name: string, quote: (name: string) => string = (n) => `"${n}"`): Sql {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return fragment(checkLiteral(quote(name)), []);
}

/** The fragments with `separator` (code text, checked as `raw`) between them, parameters in the same order. */
export function join(fragments: readonly Sql[], separator = ', '): Sql {
  const sep = raw(separator).text;
  return fragment(
    fragments.map((f) => f.text).join(sep),
    fragments.flatMap((f) => f.params),
  );
}
