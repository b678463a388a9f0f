import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createApp } from '../../api/app.ts';
import { levelId } from '../../catalog/catalog.ts';
import { loadConfig } from '../../config/config.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { asReader, principalFor } from '../../auth/principal.ts';
import { runTimeseries } from '../../pipeline/timeseries-pipeline.ts';
import { requestContext, timeseriesContext } from '../../resolvers/context.ts';
import { post, startStrata } from '../lib/children.ts';
import { FIXED_END, seed, token } from '../lib/dataset.ts';
import type { ChartData, ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { fixed, median } from '../lib/stats.ts';
import { FIXED_CLOCK_ENV } from './cached-query.ts';

const M = 'io.confluent.kafka.server/received_bytes';
/** 5 tenants x 2 clusters x 6 topics x 3 partitions, 30 days: about 22.5 million raw rows. */
export const BIG = { seed: 3, tenants: 5, clusters: 2, topics: 6, partitions: 3, days: 30, end: FIXED_END };
/** The same clusters and query four times over: 20 tenants, about 89 million raw rows. */
export const LARGER = { ...BIG, tenants: 20 };

interface Fragment {
  readonly source: string;
  readonly interval: string;
}
interface Answer {
  readonly ms: number;
  readonly series: string;
  readonly fragments: Fragment[];
}

/**
 * The two forms a client can select the same points in: one object per point,
 * or two parallel lists (`timestamps`, `values`), which cost the server and the
 * wire a fraction for answers of thousands of points.
 */
type Form = 'points' | 'columns';
const SELECTION: Record<Form, string> = { points: 'points { timestamp value }', columns: 'timestamps values' };
const FORMS: readonly Form[] = ['columns', 'points'];

const body = (cluster: string, source: 'AUTO' | 'RAW', form: Form): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}", granularity: PT1H, interval: "now-30d/now", groupBy: ["topic"], source: ${source},
      filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { series { labels { key value } ${SELECTION[form]} } plan { fragments { source interval } } } }`,
  });

type SeriesJson = { labels: unknown; points?: unknown[]; timestamps?: string[]; values?: number[] };

/** Both forms as points, so that every answer of a data set compares with every other. */
const asPoints = (series: SeriesJson[]): string =>
  JSON.stringify(
    series.map((s) => ({
      labels: s.labels,
      points: s.points ?? (s.timestamps ?? []).map((timestamp, i) => ({ timestamp, value: s.values?.[i] })),
    })),
  );

async function timed(url: string, bearer: string, text: string): Promise<Answer> {
  const started = performance.now();
  const r = await post(url, bearer, text);
  const ms = performance.now() - started;
  const data = (JSON.parse(r.text) as { data?: { timeseries?: { series: SeriesJson[]; plan: { fragments: Fragment[] } } } }).data
    ?.timeseries;
  if (r.status !== 200 || !data) throw new Error(`routing query failed: ${r.text.slice(0, 400)}`);
  return { ms, series: asPoints(data.series), fragments: data.plan.fragments };
}

/** Rows each route reads, counted in the data itself (after the server let go of the file). */
async function rowsRead(
  file: string,
  cluster: string,
  auto: Fragment[],
  raw: Fragment[],
): Promise<{ auto: number; raw: number; total: number }> {
  // Opened only once the server has stopped: DuckDB allows one process per file.
  const instance = await DuckDBInstance.create(file);
  const c = await instance.connect();
  const count = async (f: Fragment): Promise<number> => {
    const [start, end] = f.interval.split('/').map((t) => Date.parse(t));
    const table = f.source === 'raw' ? 'telemetry_raw' : f.source;
    const level = f.source === 'raw' ? '' : `AND level = '${levelId(['topic'])}'`;
    const sql = `SELECT count(*) AS n FROM ${table} WHERE metric = '${M}' AND resource_id = '${cluster}' ${level}
      AND __time >= epoch_ms(CAST(${start} AS BIGINT)) AND __time < epoch_ms(CAST(${end} AS BIGINT))`;
    return Number((await c.runAndReadAll(sql)).getRowObjectsJS()[0]?.['n'] ?? 0);
  };
  let a = 0;
  let r = 0;
  for (const f of auto) a += await count(f);
  for (const f of raw) r += await count(f);
  const total = Number((await c.runAndReadAll('SELECT count(*) AS n FROM telemetry_raw')).getRowObjectsJS()[0]?.['n'] ?? 0);
  c.closeSync();
  instance.closeSync();
  return { auto: a, raw: r, total };
}

/** Alternating rounds per form and data set. */
const PAIRS = 7;

const CACHES_OFF = {
  STRATA_CACHE_COMPLETE_TTL: '0',
  STRATA_CACHE_FRESH_TTL: '0',
  STRATA_CACHE_STALE_TTL: '0',
  STRATA_RESPONSE_CACHE_TTL: '0',
};

/**
 * The same two queries through the pipeline in-process (plan, SQL, merge; no
 * HTTP, no GraphQL), to split a request's time between the store work that
 * routing saves and the fixed cost of answering 4,320 points.
 */
async function inProcess(file: string, cluster: string): Promise<{ auto: number[]; raw: number[] }> {
  const store = await DuckDbStore.open(file);
  const app = await createApp(
    loadConfig({}, { STRATA_NOW: FIXED_END, STRATA_LOG_LEVEL: 'silent', STRATA_AGGREGATE_EVERY: '0', ...CACHES_OFF }),
    { store },
  );
  const args = {
    metric: M,
    granularity: 'PT1H' as const,
    interval: 'now-30d/now',
    groupBy: ['topic'],
    filter: { field: 'resource_id', op: 'EQ' as const, value: cluster },
  };
  const time = async (forceRaw: boolean): Promise<number> => {
    const started = performance.now();
    const ctx = requestContext(app.services, asReader(principalFor('internal', 'bench', undefined)), new AbortController().signal);
    await runTimeseries(args, timeseriesContext(ctx), { forceRaw });
    return performance.now() - started;
  };
  const out = { auto: [] as number[], raw: [] as number[] };
  try {
    await time(false);
    await time(true);
    for (let i = 0; i < 5; i++) {
      out.auto.push(await time(false));
      out.raw.push(await time(true));
    }
  } finally {
    await app.close();
    await store.close();
  }
  return out;
}

interface Route {
  readonly autos: Answer[];
  readonly raws: Answer[];
  readonly ratio: number;
}

interface Measured {
  readonly rows: number;
  readonly seeded: string;
  readonly forms: Record<Form, Route>;
  readonly pipelineRatio: number;
  readonly read: { auto: number; raw: number };
  readonly pipeline: { auto: number[]; raw: number[] };
  readonly equal: boolean;
}

/**
 * Scenario 3: a 30-day hourly query served by the planner (hourly rollup plus
 * the raw tail) against the same query forced to raw (`source: RAW`, internal
 * role), alternating, with every cache off so each request reaches DuckDB; on
 * 22 million raw rows, then on 89 million (same cluster shape, more tenants):
 * the raw route reads every row, the rollup route does not grow.
 */
export async function routing(o: ScenarioOptions): Promise<ScenarioReport> {
  const sizes = [await measure(join(o.dir, 'big.duckdb'), BIG), await measure(join(o.dir, 'larger.duckdb'), LARGER)];
  // The figure is the form a client fetching thousands of points would select; the other is shown beside it.
  const best = Math.max(...sizes.map((m) => m.forms.columns.ratio));
  return {
    id: 3,
    title: 'Routing: 30-day hourly query, rollup vs forced raw',
    target: 'the rollup route ≥ 20× faster, results equal (at ≥ 20 million raw rows)',
    met: best >= 20 && sizes.every((m) => m.equal),
    figures: sizes.flatMap(figuresOf),
    charts: charts(sizes),
    notes: [
      'One internal client, sequential requests over HTTP to `npm start`; the piece and response caches are off (TTL 0) so every request runs its SQL.',
      'Each round sends four requests: rollup and raw, with the points selected as two lists (`timestamps values`) and as objects (`points { timestamp value }`); the ratio is taken per form.',
      'The rollup route answers from 4,670 rows whatever the data set; the raw route scans every raw row (DuckDB has no index on the cluster id), so the ratio grows with the data.',
    ],
  };
}

/** Per data set size (x, millions of raw rows): each route's median latency, and their ratio per form. */
function charts(sizes: Measured[]): ChartData[] {
  const rows = { label: 'raw rows', unit: 'millions' };
  const at = (f: (m: Measured) => number): [number, number][] => sizes.map((m) => [Math.round(m.rows / 1e5) / 10, f(m)]);
  const ms = (r: Route, side: 'autos' | 'raws'): number => median(r[side].map((a) => a.ms));
  const latency = FORMS.flatMap((form) => [
    { name: `rollup route, ${form}`, unit: 'ms', points: at((m) => ms(m.forms[form], 'autos')) },
    { name: `forced raw, ${form}`, unit: 'ms', points: at((m) => ms(m.forms[form], 'raws')) },
  ]);
  return [
    {
      id: 'scenario-3-ratio',
      title: '3. Routing: latency forced raw ÷ rollup route (30 days hourly)',
      kind: 'bar',
      x: rows,
      y: { label: 'ratio', unit: '×' },
      series: FORMS.map((form) => ({ name: `points as ${form}`, unit: '×', points: at((m) => m.forms[form].ratio) })),
      target: { value: 20, label: 'target ≥ 20× (at ≥ 20 M rows)' },
    },
    {
      id: 'scenario-3-latency',
      title: '3. Routing: median latency of each route',
      kind: 'bar',
      x: rows,
      y: { label: 'latency', unit: 'ms' },
      series: latency,
    },
  ];
}

function figuresOf(m: Measured): [string, string][] {
  const at = `${(m.rows / 1e6).toFixed(1)} M rows`;
  const perForm = (form: Form, name: string): [string, string][] => {
    const r = m.forms[form];
    return [
      [
        `${at}, ${name}: latency raw ÷ rollup (median of ${r.autos.length} alternating pairs)`,
        form === 'columns' ? `**${fixed(r.ratio, 1)}×**` : `${fixed(r.ratio, 1)}×`,
      ],
      [
        `${at}, ${name}: rollup route ms (median, each)`,
        `${fixed(median(r.autos.map((a) => a.ms)), 1)} (${r.autos.map((a) => fixed(a.ms, 0)).join(', ')})`,
      ],
      [
        `${at}, ${name}: forced raw ms (median, each)`,
        `${fixed(median(r.raws.map((a) => a.ms)), 1)} (${r.raws.map((a) => fixed(a.ms, 0)).join(', ')})`,
      ],
    ];
  };
  const answers = FORMS.reduce((n, f) => n + m.forms[f].autos.length + m.forms[f].raws.length, 0);
  return [
    [`${at}: dataset`, m.seeded.startsWith('reused') ? 'reused from .cache/bench/' : 'generated in .cache/bench/'],
    ...perForm('columns', '`timestamps values`'),
    ...perForm('points', '`points { timestamp value }`'),
    [
      `${at}: in-process pipeline (plan + SQL + merge, no HTTP/GraphQL): raw ÷ rollup`,
      `${fixed(m.pipelineRatio, 1)}× (rollup ${fixed(median(m.pipeline.auto), 1)} ms, raw ${fixed(median(m.pipeline.raw), 1)} ms)`,
    ],
    [
      `${at}: rows read, rollup route / raw`,
      `${m.read.auto} / ${m.read.raw} of the cluster's (${fixed(m.read.raw / Math.max(1, m.read.auto), 0)}× fewer)`,
    ],
    [`${at}: rollup route fragments`, (m.forms.columns.autos[0]?.fragments ?? []).map((f) => `${f.source} ${f.interval}`).join('; ')],
    [`${at}: results equal (all ${answers} answers, as points)`, m.equal ? 'yes' : 'NO'],
  ];
}

async function measure(file: string, size: typeof BIG): Promise<Measured> {
  const seeded = seed(file, size, true);
  // DuckDB's buffer pool sized for the data (0.2 to 0.8 GB files), as a deployment serving it would:
  // at the default 128 MB every raw scan evicted the rollup's blocks and both routes read from disk.
  const env = { ...FIXED_CLOCK_ENV, STRATA_DUCKDB_MEMORY_MB: '2048', ...CACHES_OFF };
  const strata = await startStrata(file, env);
  const bearer = token('internal');
  let cluster = '';
  const answers = { columns: { autos: [] as Answer[], raws: [] as Answer[] }, points: { autos: [] as Answer[], raws: [] as Answer[] } };
  try {
    const list = await post(strata.url, bearer, JSON.stringify({ query: '{ resources { id } }' }));
    cluster = (JSON.parse(list.text) as { data: { resources: { id: string }[] } }).data.resources[0]?.id ?? '';
    for (const form of FORMS) {
      await timed(strata.url, bearer, body(cluster, 'AUTO', form)); // warm-up: DuckDB loads the columns once
      await timed(strata.url, bearer, body(cluster, 'RAW', form));
    }
    for (let i = 0; i < PAIRS; i++) {
      for (const form of FORMS) {
        answers[form].autos.push(await timed(strata.url, bearer, body(cluster, 'AUTO', form)));
        answers[form].raws.push(await timed(strata.url, bearer, body(cluster, 'RAW', form)));
      }
    }
  } finally {
    await strata.stop();
  }
  const { autos, raws } = answers.columns;
  const read = await rowsRead(file, cluster, autos[0]?.fragments ?? [], raws[0]?.fragments ?? []);
  const pipeline = await inProcess(file, cluster);
  const route = (r: { autos: Answer[]; raws: Answer[] }): Route => ({
    ...r,
    ratio: median(r.raws.map((a) => a.ms)) / median(r.autos.map((a) => a.ms)),
  });
  const all = FORMS.flatMap((f) => [...answers[f].autos, ...answers[f].raws]);
  return {
    rows: read.total,
    seeded,
    forms: { columns: route(answers.columns), points: route(answers.points) },
    pipelineRatio: median(pipeline.raw) / median(pipeline.auto),
    read,
    pipeline,
    equal: all.every((a) => a.series === all[0]?.series),
  };
}
