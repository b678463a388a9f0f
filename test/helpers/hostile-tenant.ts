/**
 * A hostile customer tenant, run as its own process so that its client CPU is
 * not spent in the measuring process's event loop:
 *
 *   node --import tsx test/helpers/hostile-tenant.ts <url> <token,token,...> <seconds> [attack,attack,...]
 *
 * Every token must be a customer token of the same tenant. For <seconds> it
 * runs these attacks at once (all of DEFAULT_ATTACKS unless named):
 *   hangUp    cold heavy operations, hung up after 20–100 ms
 *   slowBody  64 raw sockets sending a POST's headers, then a byte a second, never finishing (from 1/5 of the run on)
 *   export    /export of its own clusters, many held in flight
 *   future    far-future intervals (`now-1d/P99999W`, `now/now+999999w`, …)
 *   heavy     24-field operations with big IN lists as variables and raw scans (PT1M, PT5M, PT30M),
 *             at the edge of the operation budget and over it, cold every time (new IN lists)
 *   ws        250 WebSocket connections that init and subscribe 20 times each, reopened when closed
 *   wsIdle    150 WebSocket connections that never send connection_init
 *   oom       (only when named) the admitted operation that exhausts DuckDB's memory (see OOM_TOPICS)
 * then closes everything, prints one JSON line {"seconds":…,"cpuSeconds":…,"rates":…,"tallies":{attack:{outcome:count}}}
 * and exits. Outcomes are `status` or `status:CODE` for HTTP, `ws:…` for sockets.
 * The socket attacks (slowBody, ws, wsIdle) are in hostile-sockets.ts.
 *
 * Bounded: 127.0.0.1 only, fixed concurrency per attack, and each HTTP attack
 * paced to RATES (requests a second, shared by its workers): together about
 * twice what the default per-tenant quota (6,000/min) admits, so that quotas,
 * raised for the test, are not what stops it; a faster flood of refusals is
 * the quota's (and the network's) job, not these bounds'.
 */
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'node:http';
import { idleSocket, slowBody, subscriber } from './hostile-sockets.ts';
import { codeOf, count, live, sleep, tallies, tokenOf, type Target } from './hostile-target.ts';

const M = 'io.confluent.kafka.server/';
const TOPIC_METRICS = ['received_bytes', 'sent_bytes', 'received_records', 'sent_records', 'retained_bytes'];
const REAL_TOPICS = ['orders', 'payments', 'clicks', 'inventory'];
/** Topic IN values per field of the admitted heavy operation: 24 × (16 + 2 clusters) = 432 of the 500 allowed. */
const HEAVY_TOPICS = 16;
/** 24 × (18 + 2) = 480 IN values, still admitted, but DuckDB runs out of its 128 MB (INTERNAL), also for other tenants' queries. */
const OOM_TOPICS = 18;
const RATES = { hangUp: 80, export: 40, future: 40, heavy: 40, oom: 10 } as const;

const ATTACKS = ['hangUp', 'slowBody', 'export', 'future', 'heavy', 'ws', 'wsIdle', 'oom'] as const;
type AttackName = (typeof ATTACKS)[number];
const DEFAULT_ATTACKS: readonly AttackName[] = ATTACKS.filter((a) => a !== 'oom');

/** A POST body, as JSON text. */
type Operation = string;

let serial = 0;
/** Where a body template takes the request's serial number, so that its IN lists are new (cold) at the price of one join. */
const SERIAL = '@@serial@@';
const templates = new Map<string, string[]>();
function fromTemplate(key: string, build: () => string): Operation {
  let parts = templates.get(key);
  if (!parts) templates.set(key, (parts = build().split(SERIAL)));
  return parts.join(`${++serial}`);
}

/** Spaces the calls of all workers sharing it `1000 / perSecond` ms apart. */
function pacer(perSecond: number): () => Promise<void> {
  let next = Date.now();
  return () => {
    const at = Math.max(next, Date.now());
    next = at + 1_000 / perSecond;
    return sleep(at - Date.now());
  };
}

/** Keep-alive sockets for the HTTP attacks: node:http costs the attacker's CPU a fraction of what fetch does. */
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

interface Send {
  readonly path: string;
  readonly body?: Operation;
  /** Hang up this long after sending. */
  readonly hangUpMs?: number;
}

/** Sends one request; answers its outcome (`status` or `status:CODE`), or `aborted` (hung up) / `error:CODE`. */
function send(t: Target, token: string, init: Send): Promise<string> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (init.body !== undefined)
      Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(init.body)) });
    let hungUp = false;
    const req = request(
      `${t.url}${init.path}`,
      { method: init.body === undefined ? 'GET' : 'POST', headers, agent, signal: t.stop.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const code = codeOf(Buffer.concat(chunks).toString());
          resolve(code ? `${res.statusCode}:${code}` : String(res.statusCode));
        });
        res.on('error', () => undefined);
      },
    );
    const timer = init.hangUpMs === undefined ? undefined : setTimeout(() => ((hungUp = true), req.destroy()), init.hangUpMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(hungUp || t.stop.signal.aborted ? 'aborted' : `error:${error.code ?? 'other'}`);
    });
    req.end(init.body);
  });
}

/** 24 timeseries fields over `interval`, each with its own IN list of `topics` topics (4 real, the rest new), grouped by topic. */
function wideOperation(clusters: readonly string[], granularity: string, interval: string, topics: number): Operation {
  return fromTemplate(`${granularity} ${interval} ${topics}`, () => wideTemplate(clusters, granularity, interval, topics));
}

function wideTemplate(clusters: readonly string[], granularity: string, interval: string, topics: number): string {
  const fields = Array.from({ length: 24 }, (_, i) => {
    const metric = M + TOPIC_METRICS[i % TOPIC_METRICS.length];
    return `f${i}: timeseries(query: { metric: "${metric}", granularity: ${granularity}, interval: "${interval}", groupBy: ["topic"],
      filter: { and: [{ field: "resource_id", op: IN, values: $clusters }, { field: "topic", op: IN, values: $t${i} }] } }) { series { labels { key value } timestamps values } }`;
  });
  const params = ['$clusters: [String!]!', ...fields.map((_, i) => `$t${i}: [String!]!`)].join(', ');
  const variables: Record<string, unknown> = { clusters };
  for (let i = 0; i < 24; i++)
    variables[`t${i}`] = [...REAL_TOPICS, ...Array.from({ length: topics - REAL_TOPICS.length }, (_, k) => `t${SERIAL}-${i}-${k}`)];
  return JSON.stringify({ query: `query Heavy(${params}) { ${fields.join('\n')} }`, variables });
}

/** Variants 0 and 1 are admitted at the edge of the budget; 2 and 3 go over it (their first fields still run). */
function heavyOperation(t: Target, n: number, variant = n % 4): Operation {
  switch (variant) {
    case 0: // 24 × ~1,400 min × 2 clusters ≈ 67,000 raw cluster-minutes of the 100,000
      return wideOperation(t.clusters, 'PT5M', `now-${1_380 + (n % 60)}m/now`, HEAVY_TOPICS);
    case 1: // one-minute raw scans, 24 × 6 h
      return wideOperation(t.clusters, 'PT1M', `now-${300 + (n % 60)}m/now`, HEAVY_TOPICS);
    case 2: // PT30M is no rollup's multiple: 24 × 7 days of raw, 480,000 cluster-minutes
      return wideOperation(t.clusters, 'PT30M', 'now-7d/now', HEAVY_TOPICS);
    default: // 24 × 102 IN values
      return wideOperation(t.clusters, 'PT1H', 'now-1d/now', 100);
  }
}

const FUTURE_INTERVALS = ['now-1d/P99999W', 'now/now+999999w', 'now-1h/now+30d', '2026-01-01T00:00:00Z/9999-12-31T00:00:00Z'];

function futureOperation(t: Target, n: number): Operation {
  const interval = FUTURE_INTERVALS[n % FUTURE_INTERVALS.length] ?? 'now/now+999999w';
  return JSON.stringify({
    query: `query Future($c: String!) { a: timeseries(query: { metric: "${M}received_bytes", granularity: ALL, interval: "${interval}",
      filter: { field: "resource_id", op: EQ, value: $c } }) { series { labels { key value } timestamps values } } }`,
    variables: { c: t.clusters[n % t.clusters.length] },
  });
}

/** An HTTP attack: `workers` loops sharing one pace, each sending what `request` builds. */
async function httpAttack(t: Target, name: keyof typeof RATES, workers: number, request: (n: number) => Send): Promise<void> {
  const pace = pacer(RATES[name]);
  let n = 0;
  const loop = async (): Promise<void> => {
    for (await pace(); live(t); await pace()) {
      const k = n++;
      count(name, await send(t, tokenOf(t, k), request(k)));
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

const hangUp = (t: Target, n: number): Send => ({
  path: '/graphql',
  body: heavyOperation(t, n, n % 2),
  hangUpMs: 20 + Math.floor(Math.random() * 80),
});

async function ownClusters(url: string, token: string): Promise<string[]> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ resources { id } }' }),
  });
  const body = (await response.json()) as { data?: { resources?: { id: string }[] } };
  const ids = body.data?.resources?.map((r) => r.id) ?? [];
  if (ids.length === 0) throw new Error(`the attacker's token sees no clusters (HTTP ${response.status})`);
  return ids;
}

/** The chosen attacks at once until the deadline. */
async function attack(t: Target, chosen: ReadonlySet<AttackName>): Promise<void> {
  const wsUrl = `${t.url.replace('http://', 'ws://')}/graphql`;
  const clusters = `/export?resource.kafka.id=${t.clusters.join(',')}`;
  const many = (n: number, run: (i: number) => Promise<void>): Promise<void> =>
    Promise.all(Array.from({ length: n }, (_, i) => run(i))).then(() => undefined);
  const runs: Record<AttackName, () => Promise<void>> = {
    hangUp: () => httpAttack(t, 'hangUp', 12, (n) => hangUp(t, n)),
    slowBody: () => many(64, (i) => slowBody(t, i, Date.now() + (t.deadline - Date.now()) / 5 + 20 * i)),
    export: () => httpAttack(t, 'export', 24, () => ({ path: clusters })),
    future: () => httpAttack(t, 'future', 4, (n) => ({ path: '/graphql', body: futureOperation(t, n) })),
    heavy: () => httpAttack(t, 'heavy', 6, (n) => ({ path: '/graphql', body: heavyOperation(t, n) })),
    ws: () => many(250, (i) => subscriber(t, i, wsUrl)),
    wsIdle: () => many(150, () => idleSocket(t, wsUrl)),
    oom: () =>
      httpAttack(t, 'oom', 2, (n) => ({
        path: '/graphql',
        body: wideOperation(t.clusters, 'PT5M', `now-${120 + (n % 60)}m/now`, OOM_TOPICS),
      })),
  };
  await Promise.all(ATTACKS.filter((a) => chosen.has(a)).map((a) => runs[a]()));
}

function parseArgs(): { url: string; tokens: string[]; seconds: number; chosen: Set<AttackName> } {
  const [url, tokenList, seconds, only] = process.argv.slice(2);
  const chosen = new Set<AttackName>(only ? ATTACKS.filter((a) => only.split(',').includes(a)) : DEFAULT_ATTACKS);
  if (!url || !tokenList || !/^http:\/\/127\.0\.0\.1:\d+$/.test(url) || !(Number(seconds) > 0) || chosen.size === 0) {
    console.error(`usage: hostile-tenant.ts http://127.0.0.1:PORT <token,token,...> <seconds> [${ATTACKS.join(',')}]`);
    process.exit(2);
  }
  return { url, tokens: tokenList.split(','), seconds: Number(seconds), chosen };
}

async function main(): Promise<void> {
  const { url, tokens, seconds, chosen } = parseArgs();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  // However the attacks fare, the process ends soon after its time.
  setTimeout(() => process.exit(3), seconds * 1_000 + 10_000).unref();
  const target: Target = {
    url,
    port: Number(new URL(url).port),
    tokens,
    clusters: await ownClusters(url, tokens[0] ?? ''),
    deadline: Date.now() + seconds * 1_000,
    stop,
  };
  const cpu = process.cpuUsage();
  const ended = attack(target, chosen);
  await sleep(target.deadline - Date.now());
  stop.abort();
  await ended;
  const used = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds: (used.user + used.system) / 1e6, rates: RATES, tallies })}\n`);
  process.exit(0);
}

await main();
