// Strata explorer: a GraphQL editor, a token field, Run, a chart of every `series` in the answer
// (uPlot), and live re-runs when the aggregationLanded subscription fires (graphql-ws).
// Plain browser JavaScript, loaded from this server only (see explorer/explorer-route.ts).
'use strict';

const DEFAULT_QUERY = `# Customers: filter on a cluster ({ resources { id } }):
# filter: {field: "resource_id", op: EQ, value: "lkc-..."}
{
  timeseries(query: {
    metric: "io.confluent.kafka.server/received_bytes"
    granularity: PT1H
    interval: "now-1d/now"
    groupBy: ["resource_id"]
    limit: 8
  }) {
    series { labels { key value } points { timestamp value } }
    pageInfo { hasNextPage totalSeries }
  }
}
`;

const LANDED = `subscription Landed($metrics: [String!]) {
  aggregationLanded(metrics: $metrics) { rollup interval { start end } metrics }
}`;

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
const PALETTE = ['#2f6fdf', '#e4572e', '#17a398', '#f3a712', '#8e44ad', '#2d3047', '#c2185b', '#558b2f'];
const TOKEN_KEY = 'strata.explorer.token';

const $ = (id) => document.getElementById(id);
const state = { chart: undefined, running: false, rerun: false, runs: 0, live: undefined };

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function token() {
  return $('token')
    .value.trim()
    .replace(/^Bearer\s+/i, '');
}

function variables() {
  const text = $('variables').value.trim();
  if (!text) return {};
  const parsed = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('Variables must be a JSON object.');
  return parsed;
}

async function run(reason = 'run') {
  if (state.running) return void (state.rerun = true);
  state.running = true;
  $('run').disabled = true;
  const started = performance.now();
  try {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token() ? { authorization: `Bearer ${token()}` } : {}) },
      body: JSON.stringify({ query: $('query').value, variables: variables() }),
    });
    const body = await response.json();
    $('result').textContent = JSON.stringify(body, null, 2);
    const drawn = draw(collectSeries(body.data));
    state.runs += 1;
    $('status').dataset.runs = String(state.runs);
    const ms = Math.round(performance.now() - started);
    const errors = body.errors ?? [];
    const summary = `${reason === 'run' ? 'Ran' : `Refreshed (${reason})`}: HTTP ${response.status}, ${drawn} series, ${ms} ms`;
    if (errors.length > 0)
      setStatus(`${summary}. ${errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join(' | ')}`, true);
    else setStatus(summary);
  } catch (error) {
    setStatus(`Could not run: ${error instanceof Error ? error.message : String(error)}`, true);
  } finally {
    state.running = false;
    $('run').disabled = false;
    if (state.rerun) {
      state.rerun = false;
      void run(reason);
    }
  }
}

/** Every `series` list anywhere in the answer, named by the field (alias) that holds it. */
function collectSeries(data) {
  const found = [];
  const walk = (node, name) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, name);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node.series)) {
      for (const s of node.series) {
        if (!Array.isArray(s?.points)) continue;
        const labels = (s.labels ?? []).map((l) => `${l.key}=${l.value}`).join(', ');
        found.push({ label: labels ? `${name}: ${labels}` : name, points: s.points });
      }
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'series') walk(value, key);
  };
  walk(data, 'result');
  return found;
}

/** One aligned table for uPlot: the union of timestamps (seconds), a null where a series has no point. */
function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => Date.parse(p.timestamp) / 1000)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(null);
    for (const p of s.points) column[index.get(Date.parse(p.timestamp) / 1000)] = p.value;
    return column;
  });
  return [times, ...columns];
}

function draw(series) {
  state.chart?.destroy();
  state.chart = undefined;
  const target = $('chart');
  target.replaceChildren();
  target.dataset.series = String(series.length);
  if (series.length === 0) return 0;
  const options = {
    width: Math.max(target.clientWidth - 20, 300),
    height: 340,
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2 }))],
    scales: { x: { time: true } },
    // Byte counts run to the billions: compact labels (1.5G) keep the axis narrow and readable.
    axes: [{}, { size: 64, values: (_u, splits) => splits.map((v) => COMPACT.format(v)) }],
    legend: { live: true },
  };
  state.chart = new uPlot(options, aligned(series), target);
  return series.length;
}

function metricOfQuery() {
  return /metric:\s*"([^"]+)"/.exec($('query').value)?.[1];
}

function stopLive() {
  state.live?.unsubscribe();
  state.live?.client.dispose();
  state.live = undefined;
}

function startLive() {
  stopLive();
  const metric = metricOfQuery();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = graphqlWs.createClient({ url, connectionParams: { authorization: `Bearer ${token()}` }, retryAttempts: 3 });
  const unsubscribe = client.subscribe(
    { query: LANDED, variables: { metrics: metric ? [metric] : null } },
    {
      next: (message) => {
        if (message.errors) return setStatus(`Live: ${message.errors.map((e) => e.message).join(' | ')}`, true);
        const landed = message.data.aggregationLanded;
        void run(`${landed.rollup} landed for ${landed.interval.start}/${landed.interval.end}`);
      },
      error: (error) => {
        const reason =
          error && typeof error.code === 'number'
            ? `connection closed ${error.code} ${error.reason}`
            : String(error?.message ?? JSON.stringify(error));
        setStatus(`Live updates stopped: ${reason}`, true);
        $('live').checked = false;
      },
      complete: () => {},
    },
  );
  state.live = { client, unsubscribe };
  setStatus(metric ? `Live: re-running when ${metric} lands.` : 'Live: re-running when any aggregation lands.');
}

function init() {
  $('query').value = DEFAULT_QUERY;
  $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('token').addEventListener('change', () => {
    sessionStorage.setItem(TOKEN_KEY, token());
    if ($('live').checked) startLive();
  });
  $('run').addEventListener('click', () => void run());
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void run();
  });
  $('live').addEventListener('change', () => {
    if ($('live').checked) return startLive();
    stopLive();
    setStatus('Live updates off.');
  });
  window.addEventListener('resize', () => state.chart?.setSize({ width: Math.max($('chart').clientWidth - 20, 300), height: 340 }));
}

init();
