/**
 * OpenMetrics 1.0 text exposition (pure: no I/O). Strata's metrics are
 * exported as gauges, as the reference Metrics API does: counters here are
 * per-minute deltas, not monotonic totals, so `counter` would mislead rate().
 */

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export interface Sample {
  /** Label name -> value, in the order they are written. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Epoch milliseconds; written in seconds, as OpenMetrics requires. */
  readonly timestampMs?: number;
}

export interface GaugeFamily {
  /** Already Prometheus-safe (see prometheusName). */
  readonly name: string;
  readonly help: string;
  /** An OpenMetrics unit; written only when the name ends in `_<unit>`, as the format requires. */
  readonly unit?: string;
  readonly samples: readonly Sample[];
}

const NAME_CHARS = /[^A-Za-z0-9_]/g;

/**
 * A Prometheus-legal metric name: `io.confluent.kafka.server/received_bytes`
 * becomes `confluent_kafka_server_received_bytes` (the reverse-DNS `io.` is
 * dropped, every other character outside [A-Za-z0-9_] becomes `_`).
 */
export function prometheusName(metricName: string): string {
  const name = metricName.replace(/^io\./, '').replace(NAME_CHARS, '_').replace(/_+/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A legal label name; labels come from the catalog, so this only guards. */
export function labelName(name: string): string {
  const safe = name.replace(NAME_CHARS, '_');
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

/** The OpenMetrics unit for a UCUM unit of the catalog, where one exists. */
export function openMetricsUnit(ucum: string): string | undefined {
  return ({ By: 'bytes', s: 'seconds' } as Record<string, string>)[ucum];
}

const escapeLabelValue = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Seconds with up to millisecond precision, never in exponent form. */
export function formatTimestamp(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms - seconds * 1000;
  return rest === 0 ? String(seconds) : `${seconds}.${String(Math.round(rest)).padStart(3, '0')}`;
}

function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels).map(([k, v]) => `${labelName(k)}="${escapeLabelValue(v)}"`);
  const labelText = labels.length > 0 ? `{${labels.join(',')}}` : '';
  const stamp = sample.timestampMs === undefined ? '' : ` ${formatTimestamp(sample.timestampMs)}`;
  return `${name}${labelText} ${formatValue(sample.value)}${stamp}`;
}

function familyLines(family: GaugeFamily): string[] {
  const lines = [`# TYPE ${family.name} gauge`];
  if (family.unit && family.name.endsWith(`_${family.unit}`)) lines.push(`# UNIT ${family.name} ${family.unit}`);
  lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
  for (const sample of family.samples) lines.push(sampleLine(family.name, sample));
  return lines;
}

/**
 * The whole exposition: each family once, its samples together, then `# EOF`.
 * A family with no samples is still described, so a scraper learns its type.
 */
export function renderOpenMetrics(families: readonly GaugeFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    if (seen.has(family.name)) throw new Error(`metric family ${family.name} appears twice; merge its samples`);
    seen.add(family.name);
    lines.push(...familyLines(family));
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}
