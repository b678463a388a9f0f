import { z } from 'zod';
import { ConfigError } from '../config/config-error.ts';

/**
 * The metric registry: the definitions an operator edits (catalog/metrics.json,
 * or the file STRATA_METRICS_FILE names), parsed and checked once at start.
 * Pure: it gets the file's text and name (config/metrics-file.ts reads it),
 * and either returns every definition or throws one error listing every
 * problem, each naming the file, the metric, the field and the fix, so an
 * operator corrects a file in one pass instead of one start per mistake.
 */

export type MetricKind = 'COUNTER' | 'GAUGE';
export type Aggregation = 'SUM' | 'MIN' | 'MAX' | 'AVG' | 'COUNT';
/** A label: a column of the raw table and of every rollup (a SQL identifier the registry has checked). */
export type LabelColumn = string;

export interface MetricDefinition {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: string;
  readonly description: string;
  readonly labels: readonly LabelColumn[];
  readonly defaultAggregation: Aggregation;
  /** Other names OTLP clients may send it under (OpenTelemetry naming); queries accept them too. */
  readonly otelNames: readonly string[];
}

export interface MetricRegistry {
  /** Every label column, in storage order: the registry's `labels`, then any other label of a metric, first seen first. */
  readonly labels: readonly LabelColumn[];
  readonly metrics: readonly MetricDefinition[];
}

/** Stable codes of what can be wrong with a registry file (tests and operators' tooling switch on them). */
export const RegistryProblemCode = {
  NOT_JSON: 'REGISTRY_NOT_JSON',
  INVALID_FIELD: 'REGISTRY_INVALID_FIELD',
  DUPLICATE_NAME: 'REGISTRY_DUPLICATE_NAME',
  BAD_LABEL: 'REGISTRY_BAD_LABEL',
  AGGREGATION_FOR_KIND: 'REGISTRY_AGGREGATION_FOR_KIND',
  MISSING_METRIC: 'REGISTRY_MISSING_METRIC',
} as const;
export type RegistryProblemCode = (typeof RegistryProblemCode)[keyof typeof RegistryProblemCode];

export interface RegistryProblem {
  readonly code: RegistryProblemCode;
  /** The metric's name (or its position, `metrics[3]`, when it has none); absent for the file's own fields. */
  readonly metric?: string;
  /** The field, as a path: `labels[1]`, `defaultAggregation`. */
  readonly field: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** A configuration problem (api/main.ts prints its message alone), with every problem of the file. */
export class MetricRegistryError extends ConfigError {
  constructor(
    readonly file: string,
    readonly problems: readonly RegistryProblem[],
  ) {
    const lines = problems.map(
      (p) => `  ${p.metric === undefined ? '' : `metric ${JSON.stringify(p.metric)}, `}${p.field}: ${p.message} [${p.code}]`,
    );
    super(
      `Invalid metric registry ${file}:\n${lines.join('\n')}\n` +
        'Fix the file (see README.md, "Adding a metric"), or unset STRATA_METRICS_FILE to serve the bundled catalog/metrics.json, and start again.',
    );
    this.name = 'MetricRegistryError';
  }
}

/**
 * Column names the tables already use for something else (raw, rollups, the
 * OTLP point tables, the Druid load's time column): a label by one of these
 * names would collide with its column.
 */
export const RESERVED_LABELS: ReadonlySet<string> = new Set([
  '__time',
  'ts',
  'tenant_id',
  'resource_id',
  'metric',
  'level',
  'value',
  'v_sum',
  'v_min',
  'v_max',
  'v_last',
  'minutes',
  'samples',
  'series',
  'temporality',
  'start_ns',
  'time_ns',
  'increment',
  'request',
]);

/** OpenTelemetry's instrument name syntax (which allows `/`, as Confluent's names use). */
const NAME = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;
const LABEL = /^[a-z_][a-z0-9_]{0,62}$/;
/** Default aggregations that mean something over time for each kind (DESIGN.md section 2). */
const AGGREGATIONS_OF: Readonly<Record<MetricKind, readonly Aggregation[]>> = {
  COUNTER: ['SUM', 'COUNT'],
  GAUGE: ['AVG', 'MIN', 'MAX'],
};

const nameField = (what: string) =>
  z
    .string({ error: `${what} is a string` })
    .regex(NAME, `${what} is an OpenTelemetry metric name: a letter, then letters, digits, _ . - or /`);

const MetricSchema = z.strictObject({
  name: nameField('name'),
  otelNames: z.array(nameField('an OTel name'), { error: 'otelNames is a list of names' }).default([]),
  kind: z.enum(['COUNTER', 'GAUGE'], { error: 'kind is COUNTER or GAUGE' }),
  unit: z
    .string({ error: 'unit is a UCUM string such as "By" or "{request}"' })
    .min(1, 'unit is a UCUM string such as "By" or "{request}"'),
  description: z
    .string({ error: 'description is a sentence for the metrics query' })
    .min(1, 'description is a sentence for the metrics query'),
  labels: z.array(z.string({ error: 'a label is a string' }), { error: 'labels is a list of label names ([] for none)' }),
  defaultAggregation: z.enum(['SUM', 'MIN', 'MAX', 'AVG', 'COUNT'], {
    error: 'defaultAggregation is SUM, COUNT (counters), AVG, MIN or MAX (gauges)',
  }),
});

const FileSchema = z.strictObject({
  labels: z.array(z.string({ error: 'a label is a string' }), { error: 'labels is a list of label names' }).default([]),
  metrics: z.array(MetricSchema, { error: 'metrics is a list of metric definitions' }).min(1, 'list at least one metric'),
});

type ParsedFile = z.infer<typeof FileSchema>;

/**
 * The registry in `text` (the contents of `file`, named in every message).
 * `required` names metrics the code itself reads (billing usage): each must be defined.
 */
export function parseMetricRegistry(text: string, file: string, required: readonly string[] = []): MetricRegistry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MetricRegistryError(file, [
      { code: RegistryProblemCode.NOT_JSON, field: '(file)', message: `not valid JSON (${reason}); write one JSON object` },
    ]);
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success)
    throw new MetricRegistryError(
      file,
      parsed.error.issues.map((i) => shapeProblem(i, json)),
    );
  const problems = checkRegistry(parsed.data, required);
  if (problems.length > 0) throw new MetricRegistryError(file, problems);
  return registryOf(parsed.data);
}

function registryOf(data: ParsedFile): MetricRegistry {
  const metrics: MetricDefinition[] = data.metrics.map((m) => ({
    name: m.name,
    kind: m.kind,
    unit: m.unit,
    description: m.description,
    labels: m.labels,
    defaultAggregation: m.defaultAggregation,
    otelNames: m.otelNames,
  }));
  const labels = [...new Set([...data.labels, ...metrics.flatMap((m) => m.labels)])];
  return { labels, metrics };
}

/** A zod issue as a problem: the metric it is in (by name when it has one), the field path inside it. */
function shapeProblem(issue: z.core.$ZodIssue, json: unknown): RegistryProblem {
  const [top, index, ...rest] = issue.path.map(String);
  const keys =
    issue.code === 'unrecognized_keys'
      ? ` (${issue.keys.join(', ')}; check the spelling: fields are name, otelNames, kind, unit, description, labels, defaultAggregation)`
      : '';
  const message = `${issue.message}${keys}`;
  if (top !== 'metrics' || index === undefined)
    return { code: RegistryProblemCode.INVALID_FIELD, field: pathText(issue.path.map(String)) || '(file)', message };
  return {
    code: RegistryProblemCode.INVALID_FIELD,
    metric: metricLabel(json, Number(index)),
    field: pathText(rest) || '(definition)',
    message,
  };
}

function metricLabel(json: unknown, index: number): string {
  const metrics = typeof json === 'object' && json !== null ? (json as { metrics?: unknown }).metrics : undefined;
  const entry: unknown = Array.isArray(metrics) ? metrics[index] : undefined;
  const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? name : `metrics[${index}]`;
}

const pathText = (path: readonly string[]): string => path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** What the shape cannot say: unique names across catalog and OTel names, safe labels, an aggregation that fits the kind. */
function checkRegistry(data: ParsedFile, required: readonly string[]): RegistryProblem[] {
  const problems: RegistryProblem[] = data.labels.flatMap((label, i) => labelProblems(label, `labels[${i}]`, undefined));
  const owners = new Map<string, { readonly index: number; readonly name: string }>();
  for (const [index, m] of data.metrics.entries()) {
    problems.push(...nameProblems(index, m.name, m.otelNames, owners));
    m.labels.forEach((label, i) => {
      problems.push(...labelProblems(label, `labels[${i}]`, m.name));
      if (m.labels.indexOf(label) !== i)
        problems.push({
          code: RegistryProblemCode.DUPLICATE_NAME,
          metric: m.name,
          field: `labels[${i}]`,
          message: `label "${label}" is listed twice; list it once`,
        });
    });
    if (!AGGREGATIONS_OF[m.kind].includes(m.defaultAggregation)) {
      const fits = AGGREGATIONS_OF[m.kind].join(', ');
      problems.push({
        code: RegistryProblemCode.AGGREGATION_FOR_KIND,
        metric: m.name,
        field: 'defaultAggregation',
        message: `${m.defaultAggregation} is no default for a ${m.kind}; use one of ${fits}`,
      });
    }
  }
  for (const name of required.filter((r) => !data.metrics.some((m) => m.name === r))) {
    problems.push({
      code: RegistryProblemCode.MISSING_METRIC,
      metric: name,
      field: 'name',
      message: 'billing usage reads this metric: keep its definition',
    });
  }
  return problems;
}

/** The catalog name and OTel names of the metric at `index`, each claimed by one metric only (`owners`: name -> metric). */
function nameProblems(
  index: number,
  name: string,
  otelNames: readonly string[],
  owners: Map<string, { readonly index: number; readonly name: string }>,
): RegistryProblem[] {
  const problems: RegistryProblem[] = [];
  [name, ...otelNames].forEach((n, i) => {
    const field = i === 0 ? 'name' : `otelNames[${i - 1}]`;
    const owner = owners.get(n);
    if (owner === undefined) owners.set(n, { index, name });
    else {
      const what = owner.index === index ? 'this metric already has it' : `metric "${owner.name}" already has it`;
      problems.push({
        code: RegistryProblemCode.DUPLICATE_NAME,
        metric: name,
        field,
        message: `"${n}" names two metrics (${what}); give each metric names of its own`,
      });
    }
  });
  return problems;
}

function labelProblems(label: string, field: string, metric: string | undefined): RegistryProblem[] {
  const at = metric === undefined ? { field } : { metric, field };
  if (!LABEL.test(label)) {
    const message = `"${label}" is not a label name: lower-case letters, digits and _, starting with a letter or _, at most 63 (e.g. "${suggested(label)}")`;
    return [{ code: RegistryProblemCode.BAD_LABEL, ...at, message }];
  }
  if (RESERVED_LABELS.has(label))
    return [
      {
        code: RegistryProblemCode.BAD_LABEL,
        ...at,
        message: `"${label}" is a column of the tables already; name the label otherwise (e.g. "${label}_label")`,
      },
    ];
  return [];
}

/** A label name the operator probably meant: OTel attribute keys such as `kafka.topic` become `kafka_topic`. */
const suggested = (label: string): string =>
  label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^([0-9])/, '_$1')
    .slice(0, 63) || 'topic';
