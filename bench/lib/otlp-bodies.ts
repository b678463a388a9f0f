import { OTLP } from '../../api/otlp/otlp-schema.ts';

/** The counter every bench series reports: a catalog metric with one label, `topic`. */
export const INGEST_METRIC = 'io.confluent.kafka.server/received_bytes';
export const MINUTE_MS = 60_000;
const NS_PER_MS = 1_000_000n;
const CUMULATIVE = 2;

export interface BenchCluster {
  readonly id: string;
  readonly tenantId: string;
}

/**
 * S series of one counter, cut into shards of `shardSize` consecutive
 * series (one request each per time step, one sender each). Series i
 * belongs to cluster i mod (number of clusters) and is named by the topic
 * `<prefix>t<i>`; a new prefix is a new generation of series.
 */
export interface SeriesLayout {
  readonly clusters: readonly BenchCluster[];
  readonly shards: number;
  readonly shardSize: number;
  /** The first step's time, a minute boundary; step j is at t0Ms + j * stepMs. */
  readonly t0Ms: number;
  /** 60,000: one point per series per minute (a collector); 10,000: six (an SDK exporting every 10 s). */
  readonly stepMs: number;
}

export const seriesCount = (layout: SeriesLayout): number => layout.shards * layout.shardSize;
export const clusterOf = (layout: SeriesLayout, series: number): BenchCluster => layout.clusters[series % layout.clusters.length]!;
export const topicOf = (prefix: string, series: number): string => `${prefix}t${series}`;
/** Bytes per step of series i: small integers, so cumulative sums stay exact in a double. */
export const rateOf = (series: number): number => 1 + (series % 97);
/** The cumulative value series i reports at step j: what it reported at j - 1 plus its rate. */
export const cumulativeAt = (series: number, step: number): number => (step + 1) * rateOf(series);

/**
 * The points of every step share one start time, a minute before the first:
 * one run per series, so the first point's increment is its whole value
 * (ingest/derive-raw-rows.ts) and every minute's delta is the same,
 * rate × points per minute: the rows the bare store's bulk write appends.
 */
const startNsOf = (layout: SeriesLayout): bigint => BigInt(layout.t0Ms - MINUTE_MS) * NS_PER_MS;

/** A time no real point has, written into the template and then found in its bytes. */
const SENTINEL_NS = 0x7e11_2345_6789_abcdn;
/** protobuf's tag of NumberDataPoint.as_double (field 4, 64-bit): follows time_unix_nano (field 3) in protobufjs' field-number order. */
const AS_DOUBLE_TAG = 0x21;

/**
 * One shard's ExportMetricsServiceRequest, encoded once with the project's
 * own schema (api/otlp/otlp-schema.ts); a step's body is a copy with the
 * fixed-width time and value fields overwritten in place. So bodies cost a
 * copy and a few writes, and a long push is generated as fast as it is sent
 * without taking the server's CPU for protobuf encoding.
 */
export class ShardBodies {
  private readonly template: Buffer;
  /** Byte offsets of each point's time_unix_nano, and the series each point belongs to. */
  private readonly offsets: number[] = [];
  private readonly series: number[] = [];

  constructor(
    private readonly layout: SeriesLayout,
    shard: number,
    prefix: string,
  ) {
    const { request, order } = templateRequest(layout, shard, prefix);
    this.template = Buffer.from(OTLP.request.encode(OTLP.request.fromObject(request)).finish());
    const sentinel = Buffer.alloc(8);
    sentinel.writeBigUInt64LE(SENTINEL_NS);
    for (let at = this.template.indexOf(sentinel); at >= 0; at = this.template.indexOf(sentinel, at + 8)) this.offsets.push(at);
    if (this.offsets.length !== order.length || this.offsets.some((at) => this.template[at + 8] !== AS_DOUBLE_TAG))
      throw new Error(`shard ${shard}: ${this.offsets.length} time fields found for ${order.length} points; the template layout changed`);
    this.series = order;
    this.check();
  }

  get points(): number {
    return this.offsets.length;
  }

  /** The body of step j: every point of the shard at t0 + j * stepMs, with its cumulative value. */
  body(step: number): Buffer {
    const out = Buffer.from(this.template);
    const timeNs = BigInt(this.layout.t0Ms + step * this.layout.stepMs) * NS_PER_MS;
    for (let k = 0; k < this.offsets.length; k++) {
      const at = this.offsets[k]!;
      out.writeBigUInt64LE(timeNs, at);
      out.writeDoubleLE(cumulativeAt(this.series[k]!, step), at + 9);
    }
    return out;
  }

  /** Decodes a patched body once: a layout the patching misreads must fail here, not as refused points. */
  private check(): void {
    const decoded = OTLP.request.toObject(OTLP.request.decode(this.body(3)), { longs: String }) as {
      resourceMetrics: { scopeMetrics: { metrics: { sum: { dataPoints: { timeUnixNano: string; asDouble: number }[] } }[] }[] }[];
    };
    const point = decoded.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.sum.dataPoints[0];
    const expected = String(BigInt(this.layout.t0Ms + 3 * this.layout.stepMs) * NS_PER_MS);
    if (point?.timeUnixNano !== expected || point.asDouble !== cumulativeAt(this.series[0]!, 3))
      throw new Error(`patched OTLP body decodes to ${JSON.stringify(point)}, not time ${expected}`);
  }
}

/** The shard's request with sentinel times: one ResourceMetrics per cluster, as a collector groups by resource. */
function templateRequest(layout: SeriesLayout, shard: number, prefix: string): { request: object; order: number[] } {
  const byCluster = new Map<string, number[]>();
  for (let i = shard * layout.shardSize; i < (shard + 1) * layout.shardSize; i++) {
    const id = clusterOf(layout, i).id;
    const list = byCluster.get(id) ?? [];
    list.push(i);
    byCluster.set(id, list);
  }
  const startTimeUnixNano = String(startNsOf(layout));
  const resourceMetrics = [...byCluster].map(([cluster, series]) => ({
    resource: { attributes: [attribute('kafka.cluster.id', cluster), attribute('service.name', 'strata-bench')] },
    scopeMetrics: [
      {
        metrics: [
          {
            name: INGEST_METRIC,
            unit: 'By',
            sum: {
              aggregationTemporality: CUMULATIVE,
              isMonotonic: true,
              dataPoints: series.map((i) => ({
                attributes: [attribute('topic', topicOf(prefix, i))],
                startTimeUnixNano,
                timeUnixNano: String(SENTINEL_NS),
                asDouble: 0.5,
              })),
            },
          },
        ],
      },
    ],
  }));
  return { request: { resourceMetrics }, order: [...byCluster.values()].flat() };
}

const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** One cumulative point of one series (the latency probe's marker). */
export function singlePoint(cluster: string, topic: string, startMs: number, timeMs: number, value: number): Buffer {
  const point = {
    attributes: [attribute('topic', topic)],
    startTimeUnixNano: String(BigInt(startMs) * NS_PER_MS),
    timeUnixNano: String(BigInt(timeMs) * NS_PER_MS),
    asDouble: value,
  };
  const sum = { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: [point] };
  const request = {
    resourceMetrics: [
      { resource: { attributes: [attribute('kafka.cluster.id', cluster)] }, scopeMetrics: [{ metrics: [{ name: INGEST_METRIC, sum }] }] },
    ],
  };
  return Buffer.from(OTLP.request.encode(OTLP.request.fromObject(request)).finish());
}
