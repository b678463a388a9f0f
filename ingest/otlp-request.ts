/**
 * An ExportMetricsServiceRequest as the edge hands it over once decoded
 * (protobuf or JSON, api/otlp/otlp-wire.ts): the OTLP messages with their
 * lowerCamelCase names, 64-bit integers as decimal strings, enums as
 * integers, and unset fields absent. Only what the mapping reads is typed;
 * histograms and summaries are recognised by their points, to be refused.
 */

export interface OtlpMetricsRequest {
  readonly resourceMetrics?: readonly OtlpResourceMetrics[];
}

export interface OtlpResourceMetrics {
  readonly resource?: { readonly attributes?: readonly OtlpKeyValue[] };
  readonly scopeMetrics?: readonly OtlpScopeMetrics[];
}

export interface OtlpScopeMetrics {
  readonly metrics?: readonly OtlpMetric[];
}

export interface OtlpMetric {
  readonly name?: string;
  readonly unit?: string;
  readonly gauge?: { readonly dataPoints?: readonly OtlpNumberDataPoint[] };
  readonly sum?: {
    readonly dataPoints?: readonly OtlpNumberDataPoint[];
    readonly aggregationTemporality?: number;
    readonly isMonotonic?: boolean;
  };
  readonly histogram?: { readonly dataPoints?: readonly unknown[] };
  readonly exponentialHistogram?: { readonly dataPoints?: readonly unknown[] };
  readonly summary?: { readonly dataPoints?: readonly unknown[] };
}

export interface OtlpNumberDataPoint {
  readonly attributes?: readonly OtlpKeyValue[];
  /** fixed64 nanoseconds since the Unix epoch, as a decimal string. */
  readonly startTimeUnixNano?: string;
  readonly timeUnixNano?: string;
  readonly asDouble?: number;
  /** sfixed64, as a decimal string. */
  readonly asInt?: string;
  readonly flags?: number;
}

export interface OtlpKeyValue {
  readonly key?: string;
  readonly value?: OtlpAnyValue;
}

export interface OtlpAnyValue {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: string;
  readonly doubleValue?: number;
  readonly arrayValue?: unknown;
  readonly kvlistValue?: unknown;
  readonly bytesValue?: unknown;
}

/** AggregationTemporality of the OTLP metrics data model. */
export const AGGREGATION_TEMPORALITY = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
/** DataPointFlags: the point carries no value (a staleness marker). */
export const FLAG_NO_RECORDED_VALUE = 1;
