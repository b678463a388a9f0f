import { Agent } from 'node:http';
import { mintDevToken } from '../../auth/mint-token.ts';
import { loadConfig } from '../../config/config.ts';
import { post } from './children.ts';
import { token } from './dataset.ts';
import { type BenchCluster, INGEST_METRIC, MINUTE_MS, singlePoint } from './otlp-bodies.ts';
import { send } from './otlp-push.ts';
import { sleep } from './stats.ts';

/** A collector token of its own subject: the probe's marker never waits behind the push's share of the write queue. */
export const collectorToken = (subject: string): string =>
  mintDevToken(loadConfig({}).jwt, { role: 'collector', subject, ttlSeconds: 24 * 3600 });

export type ProbeMode = 'fresh' | 'cached';
/** How long one sample may wait for its marker to be answered before the scenario gives up. */
const GIVE_UP_MS = 60_000;

/**
 * Push-to-queryable latency: one marker point (a cumulative counter, a step
 * more each time), then GraphQL `timeseries` polled back to back, as a
 * dashboard's customer would ask (raw minutes of now-10m/now of that cluster
 * and topic), until the marker's minute has the expected value. A sample is
 * the time from sending the push to that answer.
 *
 * `fresh`: each sample has a series (topic) of its own, polled once the push
 * is answered (200 means committed): what a query that has not been answered
 * before sees. `cached`: one series, polled from before the push, so the
 * answer the poll had is in the caches when the point lands: what a
 * refreshing dashboard sees.
 *
 * The marker is stamped a minute before the wall clock: relative intervals
 * end at the current minute's start (STRATA_NOW_STEP, 1m), so a point of the
 * open minute is never in a `now-10m/now` answer, whatever the write path does.
 */
export class IngestProbe {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly collector = collectorToken('bench-probe');
  private readonly customer: string;
  private readonly startMs = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 10 * MINUTE_MS;
  private readonly expected = new Map<number, number>();
  private cumulative = 0;
  private lastMs = 0;
  /** Samples taken, over both modes: a fresh sample's topic is named by its number. */
  private taken = 0;

  constructor(
    private readonly url: string,
    private readonly cluster: BenchCluster,
    private readonly tag: string,
  ) {
    this.customer = token('customer', cluster.tenantId);
  }

  private query(topic: string): string {
    const filter = `{ and: [{ field: "resource_id", op: EQ, value: "${this.cluster.id}" }, { field: "topic", op: EQ, value: "${topic}" }] }`;
    return JSON.stringify({
      query: `{ timeseries(query: { metric: "${INGEST_METRIC}", granularity: PT1M, interval: "now-10m/now", filter: ${filter} }) { series { points { timestamp value } } } }`,
    });
  }

  /** Samples one after another, `pauseMs` apart, until `count` are taken or `until()` says stop. */
  async samples(mode: ProbeMode, count: number, pauseMs: number, until: () => boolean = () => false): Promise<number[]> {
    const out: number[] = [];
    while (out.length < count && !until()) {
      out.push(mode === 'fresh' ? await this.fresh() : await this.cached());
      await sleep(pauseMs);
    }
    return out;
  }

  /** A marker for a series of its own, polled for once the push is answered. */
  private async fresh(): Promise<number> {
    const topic = `${this.tag}-${this.taken++}`;
    const timeMs = Date.now() - MINUTE_MS;
    const minute = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    const sent = performance.now();
    await this.mark(topic, timeMs, 1000);
    return this.pollUntil(this.query(topic), minute, 1000, sent);
  }

  /** The next marker of the probe's one series, polled for from before the push, as a refreshing dashboard asks. */
  private async cached(): Promise<number> {
    this.taken += 1;
    const timeMs = Math.max(this.lastMs + 1, Date.now() - MINUTE_MS);
    this.lastMs = timeMs;
    const minute = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    const step = 1000 + this.taken;
    this.cumulative += step;
    // The first point of the run counts whole (ingest/derive-raw-rows.ts): its step is the whole cumulative value.
    const want = (this.expected.get(minute) ?? 0) + step;
    this.expected.set(minute, want);
    const body = this.query(this.tag);
    await this.valueAt(body, minute); // the answer before the point, cached
    const sent = performance.now();
    const marked = this.mark(this.tag, timeMs, this.cumulative);
    const seen = this.pollUntil(body, minute, want, sent);
    await marked;
    return seen;
  }

  private async mark(topic: string, timeMs: number, value: number): Promise<void> {
    const answer = await send(
      this.agent,
      new URL('/v1/metrics', this.url),
      this.collector,
      singlePoint(this.cluster.id, topic, this.startMs, timeMs, value),
    );
    if (answer.status !== 200 || answer.rejected > 0)
      throw new Error(`the probe's marker was answered ${answer.status}: ${answer.message}`);
  }

  /** Polls back to back until the minute has `want`; ms since `sent`. */
  private async pollUntil(body: string, minute: number, want: number, sent: number): Promise<number> {
    for (;;) {
      if ((await this.valueAt(body, minute)) === want) return performance.now() - sent;
      if (performance.now() - sent > GIVE_UP_MS)
        throw new Error(`the marker of ${new Date(minute).toISOString()} was not queryable within ${GIVE_UP_MS} ms`);
    }
  }

  private async valueAt(body: string, minute: number): Promise<number | undefined> {
    const r = await post(this.url, this.customer, body);
    const parsed = JSON.parse(r.text) as {
      data?: { timeseries?: { series: { points: { timestamp: string; value: number }[] }[] } };
      errors?: unknown;
    };
    if (!parsed.data?.timeseries) throw new Error(`the probe's query failed (${r.status}): ${r.text.slice(0, 300)}`);
    return parsed.data.timeseries.series[0]?.points.find((p) => Date.parse(p.timestamp) === minute)?.value;
  }

  close(): void {
    this.agent.destroy();
  }
}
