import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import { isTracing } from '../../observability/tracing.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { Replica } from '../helpers/edge-server.ts';
import { observedReplica, panelDocument, query } from './observed-replica.ts';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The Prometheus text format, enough of it: `name{k="v",...} value` lines, comments skipped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const sum = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

let replica: Replica;
let store: DuckDbStore;
let cluster: string;

before(async () => {
  ({ replica, store, cluster } = await observedReplica());
});

after(async () => {
  await replica.stop();
  await store.close();
});

async function scrape(): Promise<{ status: number; type: string | null; text: string; samples: Sample[] }> {
  const response = await fetch(`${replica.base}/metrics`);
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text,
    samples: response.status === 200 ? parseExposition(text) : [],
  };
}

test('/metrics answers without a token, in the Prometheus text format, with the process metrics', async () => {
  assert.equal(isTracing(), false, 'no endpoint configured: tracing stays off');
  const { status, type, samples } = await scrape();
  assert.equal(status, 200);
  assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.ok(
      samples.some((s) => s.name === name),
      `${name} is exposed`,
    );
  }
  const post = await fetch(`${replica.base}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('after queries and events, the request, cache, routing, store and event metrics count them', async () => {
  const customer = replica.token('customer', 't-1');
  await query(replica, customer, panelDocument(cluster)); // misses: one store query
  await query(replica, customer, panelDocument(cluster)); // hits
  await query(replica, replica.token('internal'), panelDocument(cluster, 'Fleet'));
  const event = newAggregationEvent(
    'rollup_1h',
    { start: Date.parse('2026-11-19T20:00:00Z'), end: Date.parse('2026-11-19T21:00:00Z') },
    ['t-1'],
    ['io.confluent.kafka.server/received_bytes'],
    Date.now(),
  );
  await replica.app.bus.publish(event);
  await replica.app.bus.publish(event);
  await replica.app.bus.publishRaw(Buffer.from('not json'));
  const { samples, text } = await scrape();

  assert.equal(sum(samples, 'strata_request_duration_seconds_count', { operation: 'Panel', role: 'customer' }), 2);
  assert.equal(sum(samples, 'strata_request_duration_seconds_count', { operation: 'Fleet', role: 'internal' }), 1);
  assert.ok(sum(samples, 'strata_request_duration_seconds_sum', { operation: 'Panel' }) > 0);
  assert.ok(sum(samples, 'strata_request_duration_seconds_bucket', { operation: 'Panel', role: 'customer', le: '+Inf' }) === 2);

  const hits = sum(samples, 'strata_cache_hits_total');
  const misses = sum(samples, 'strata_cache_misses_total');
  assert.ok(hits > 0 && misses > 0, `hits ${hits}, misses ${misses}`);
  assert.equal(hits, replica.app.services.loaders.totals.cacheHits);
  assert.equal(misses, replica.app.services.loaders.totals.cacheMisses);
  assert.equal(sum(samples, 'strata_store_queries_total'), replica.app.services.loaders.totals.storeQueries);

  assert.ok(sum(samples, 'strata_planner_decisions_total', { source: 'rollup_1h', rule: 'metric-present', outcome: 'pass' }) >= 3);
  assert.ok(sum(samples, 'strata_planner_decisions_total', { source: 'rollup_1d', rule: 'granularity-multiple', outcome: 'fail' }) >= 3);
  assert.equal(sum(samples, 'strata_planner_fragments_total', { source: 'rollup_1h' }), 3);
  assert.equal(sum(samples, 'strata_planner_fragments_total', { source: 'raw' }), 3);

  assert.ok(sum(samples, 'strata_store_query_duration_seconds_count', { store: 'duckdb', lane: 'customer' }) >= 1);
  assert.ok(sum(samples, 'strata_store_query_duration_seconds_count', { store: 'duckdb', lane: 'internal' }) >= 1);
  assert.ok(sum(samples, 'strata_store_query_duration_seconds_sum', { store: 'duckdb' }) > 0);

  assert.equal(sum(samples, 'strata_aggregation_events_total', { outcome: 'applied' }), 2);
  assert.equal(sum(samples, 'strata_aggregation_events_total', { outcome: 'duplicate' }), 1);
  assert.equal(sum(samples, 'strata_aggregation_events_total', { outcome: 'rejected' }), 1);
  assert.deepEqual(
    {
      applied: replica.app.listener.stats.applied,
      duplicates: replica.app.listener.stats.duplicates,
      rejected: replica.app.listener.stats.rejected,
    },
    { applied: 2, duplicates: 1, rejected: 1 },
  );
  // The memory bus has no offsets: no lag series.
  assert.equal(samples.filter((s) => s.name === 'strata_consumer_lag_messages').length, 0);

  // Never a tenant or cluster id in a label value (cardinality and privacy).
  const labelValues = samples.flatMap((s) => Object.values(s.labels));
  for (const id of [...replica.app.services.resources.list(undefined).flatMap((r) => [r.tenantId, r.resourceId])]) {
    assert.ok(!labelValues.includes(id), `${id} appears as a label value`);
    assert.ok(!text.includes(`"${id}"`), `${id} appears in the exposition`);
  }
});

test('client-chosen operation names are bounded: past 100 distinct names they count as "other"', async () => {
  const token = replica.token('internal');
  const names = Array.from({ length: 110 }, (_, i) => `Op${i}`);
  for (const name of names) await query(replica, token, `query ${name} { metrics { name } }`);
  const { samples } = await scrape();
  const operations = new Set(samples.filter((s) => s.name === 'strata_request_duration_seconds_count').map((s) => s.labels['operation']));
  assert.ok(operations.size <= 101, `${operations.size} operation label values`);
  assert.ok(sum(samples, 'strata_request_duration_seconds_count', { operation: 'other' }) >= 10);
});
