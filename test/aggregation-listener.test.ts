import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCache } from '../cache/memory-cache.ts';
import { ResultCache } from '../cache/result-cache.ts';
import { newAggregationEvent } from '../events/aggregation-event.ts';
import { AggregationListener } from '../events/aggregation-listener.ts';
import { MemoryBus } from '../events/memory-bus.ts';
import { WatermarkRegistry } from '../events/watermark-registry.ts';

const H = 3_600_000;
const METRIC = 'io.confluent.kafka.server/received_bytes';

function setup() {
  const cacheStore = new MemoryCache({ maxBytes: 1 << 20 });
  const watermarks = new WatermarkRegistry({ rollup_1h: 10 * H, rollup_1d: 0 });
  const listener = new AggregationListener({
    watermarks,
    cache: new ResultCache(cacheStore, { completeTtlMs: 1, freshTtlMs: 1 }),
    log: () => undefined,
    now: Date.now,
  });
  const bus = new MemoryBus();
  return { cacheStore, watermarks, listener, bus };
}

test('a poison message is skipped and counted; the next good event still applies', async () => {
  const { watermarks, listener, bus } = setup();
  await bus.subscribe(listener.handle);
  for (const bad of [
    '{not json',
    '{}',
    JSON.stringify({ ...newAggregationEvent('rollup_1h', { start: 10 * H, end: 11 * H }, ['t-1'], [METRIC], 0), metrics: ['nope'] }),
  ]) {
    await bus.publishRaw(Buffer.from(bad));
  }
  await bus.publish(newAggregationEvent('rollup_1h', { start: 10 * H, end: 11 * H }, ['t-1'], [METRIC], 0));
  assert.equal(listener.stats.rejected, 3);
  assert.equal(listener.stats.applied, 1);
  assert.equal(watermarks.snapshot().rollup_1h, 11 * H);
});

test('watermarks move only forward and over contiguous intervals; duplicates are harmless', async () => {
  const { watermarks, listener, cacheStore } = setup();
  const gap = newAggregationEvent('rollup_1h', { start: 12 * H, end: 13 * H }, ['t-1'], [METRIC], 0);
  await listener.handle({ value: Buffer.from(JSON.stringify(gap)), headers: {} });
  assert.equal(watermarks.snapshot().rollup_1h, 10 * H, 'an event past a gap waits');
  const fill = newAggregationEvent('rollup_1h', { start: 10 * H, end: 12 * H }, ['t-1'], [METRIC], 0);
  await listener.handle({ value: Buffer.from(JSON.stringify(fill)), headers: {} });
  assert.equal(watermarks.snapshot().rollup_1h, 13 * H, 'the gap filled, both apply');
  const genKey = `strata:gen:{t:t-1}:${METRIC}:h${10 * H}`;
  const [g1] = await cacheStore.getGenerations([genKey]);
  await listener.handle({ value: Buffer.from(JSON.stringify(fill)), headers: {} });
  const [g2] = await cacheStore.getGenerations([genKey]);
  assert.notEqual(g1, g2, 'a duplicate invalidates again (safe)');
  assert.equal(listener.stats.duplicates, 1);
  assert.equal(watermarks.snapshot().rollup_1h, 13 * H);
});

test('an invalidation failure is not swallowed, so the bus redelivers', async () => {
  const { watermarks } = setup();
  const failing = new MemoryCache({ maxBytes: 1 });
  failing.bumpGenerations = async () => Promise.reject(new Error('cache down'));
  const listener = new AggregationListener({
    watermarks,
    cache: new ResultCache(failing, { completeTtlMs: 1, freshTtlMs: 1 }),
    log: () => undefined,
    now: Date.now,
  });
  const event = newAggregationEvent('rollup_1h', { start: 10 * H, end: 11 * H }, ['t-1'], [METRIC], 0);
  await assert.rejects(listener.handle({ value: Buffer.from(JSON.stringify(event)), headers: {} }), /cache down/);
  assert.equal(watermarks.snapshot().rollup_1h, 10 * H, 'nothing applied before invalidation succeeded');
});

test("events are checked against the catalog's rollups: one the service lacks is poison, one of an extra level applies", async () => {
  const cacheStore = new MemoryCache({ maxBytes: 1 << 20 });
  const watermarks = new WatermarkRegistry({ rollup_1h: 10 * H, rollup_1d: 0, rollup_5m: 10 * H });
  const listener = new AggregationListener({
    watermarks,
    cache: new ResultCache(cacheStore, { completeTtlMs: 1, freshTtlMs: 1 }),
    log: () => undefined,
    now: Date.now,
  });
  await listener.handle({
    value: Buffer.from(JSON.stringify(newAggregationEvent('rollup_1w', { start: 0, end: H }, ['t-1'], [METRIC], 0))),
    headers: {},
  });
  assert.equal(listener.stats.rejected, 1, 'a datasource the catalog does not have');
  const fiveMinutes = newAggregationEvent('rollup_5m', { start: 10 * H, end: 10 * H + 300_000 }, ['t-1'], [METRIC], 0);
  await listener.handle({ value: Buffer.from(JSON.stringify(fiveMinutes)), headers: {} });
  assert.equal(listener.stats.applied, 1);
  assert.equal(watermarks.snapshot()['rollup_5m'], 10 * H + 300_000);
  assert.deepEqual(Object.keys(watermarks.snapshot()).sort(), ['rollup_1d', 'rollup_1h', 'rollup_5m']);
});

test('a rollup never built begins at its first build: a store filled only by received telemetry routes to its rollups', () => {
  const registry = new WatermarkRegistry({ rollup_1h: 0 });
  assert.equal(registry.advance('rollup_1h', { start: 5 * H, end: 6 * H }), true);
  assert.deepEqual(registry.snapshot(), { rollup_1h: 6 * H });
  assert.equal(registry.advance('rollup_1h', { start: 7 * H, end: 8 * H }), false, 'a gap still holds a later build back');
  assert.equal(registry.advance('rollup_1h', { start: 6 * H, end: 7 * H }), true);
  assert.deepEqual(registry.snapshot(), { rollup_1h: 8 * H });
});
