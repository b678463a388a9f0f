import protobuf from 'protobufjs';

/*
 * The OTLP/HTTP metrics messages, written here from the OpenTelemetry
 * protocol specification (opentelemetry-proto: collector/metrics/v1,
 * metrics/v1, common/v1, resource/v1): field numbers and types as the
 * specification defines them, names in lowerCamelCase (the OTLP JSON
 * mapping's keys). Only what the receiver reads is declared; protobuf
 * skips undeclared fields, and the JSON mapping ignores unknown keys.
 * Histograms, exponential histograms and summaries are declared as
 * messages without fields: their points are counted, to be refused.
 */

const field = (id: number, type: string, rule?: 'repeated') => ({ id, type, ...(rule ? { rule } : {}) });
const points = (type: string) => ({
  fields: { dataPoints: field(1, type, 'repeated'), aggregationTemporality: field(2, 'AggregationTemporality') },
});

const DESCRIPTOR = {
  nested: {
    otlp: {
      nested: {
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: field(1, 'string'),
            boolValue: field(2, 'bool'),
            intValue: field(3, 'int64'),
            doubleValue: field(4, 'double'),
            arrayValue: field(5, 'ArrayValue'),
            kvlistValue: field(6, 'KeyValueList'),
            bytesValue: field(7, 'bytes'),
          },
        },
        ArrayValue: { fields: { values: field(1, 'AnyValue', 'repeated') } },
        KeyValueList: { fields: { values: field(1, 'KeyValue', 'repeated') } },
        KeyValue: { fields: { key: field(1, 'string'), value: field(2, 'AnyValue') } },
        Resource: { fields: { attributes: field(1, 'KeyValue', 'repeated') } },
        ExportMetricsServiceRequest: { fields: { resourceMetrics: field(1, 'ResourceMetrics', 'repeated') } },
        ResourceMetrics: { fields: { resource: field(1, 'Resource'), scopeMetrics: field(2, 'ScopeMetrics', 'repeated') } },
        ScopeMetrics: { fields: { metrics: field(2, 'Metric', 'repeated') } },
        Metric: {
          oneofs: { data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] } },
          fields: {
            name: field(1, 'string'),
            unit: field(3, 'string'),
            gauge: field(5, 'Gauge'),
            sum: field(7, 'Sum'),
            histogram: field(9, 'Histogram'),
            exponentialHistogram: field(10, 'ExponentialHistogram'),
            summary: field(11, 'Summary'),
          },
        },
        Gauge: { fields: { dataPoints: field(1, 'NumberDataPoint', 'repeated') } },
        Sum: { fields: { ...points('NumberDataPoint').fields, isMonotonic: field(3, 'bool') } },
        Histogram: points('HistogramDataPoint'),
        ExponentialHistogram: points('ExponentialHistogramDataPoint'),
        Summary: { fields: { dataPoints: field(1, 'SummaryDataPoint', 'repeated') } },
        HistogramDataPoint: { fields: {} },
        ExponentialHistogramDataPoint: { fields: {} },
        SummaryDataPoint: { fields: {} },
        AggregationTemporality: {
          values: { AGGREGATION_TEMPORALITY_UNSPECIFIED: 0, AGGREGATION_TEMPORALITY_DELTA: 1, AGGREGATION_TEMPORALITY_CUMULATIVE: 2 },
        },
        NumberDataPoint: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            attributes: field(7, 'KeyValue', 'repeated'),
            startTimeUnixNano: field(2, 'fixed64'),
            timeUnixNano: field(3, 'fixed64'),
            asDouble: field(4, 'double'),
            asInt: field(6, 'sfixed64'),
            flags: field(8, 'uint32'),
          },
        },
        ExportMetricsServiceResponse: { fields: { partialSuccess: field(1, 'ExportMetricsPartialSuccess') } },
        ExportMetricsPartialSuccess: { fields: { rejectedDataPoints: field(1, 'int64'), errorMessage: field(2, 'string') } },
        /** google.rpc.Status: the body of every 4xx and 5xx answer (details are not sent). */
        Status: { fields: { code: field(1, 'int32'), message: field(2, 'string') } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);

export const OTLP = {
  request: root.lookupType('otlp.ExportMetricsServiceRequest'),
  response: root.lookupType('otlp.ExportMetricsServiceResponse'),
  status: root.lookupType('otlp.Status'),
} as const;
