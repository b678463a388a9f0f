import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../../errors/strata-error.ts';
import { parseInterval } from '../../planner/interval.ts';

const NOW = Date.parse('2020-01-01T02:13:27Z');
const iso = (t: number) => new Date(t).toISOString();

test('absolute, duration and now forms (reference Metrics API examples)', () => {
  const abs = parseInterval('2026-11-23T00:00:00Z/2026-11-23T06:00:00Z', NOW);
  assert.equal(abs.end - abs.start, 6 * 3600_000);
  assert.equal(iso(parseInterval('now-2m|m/now', NOW).start), '2020-01-01T02:11:00.000Z');
  assert.equal(iso(parseInterval('now|h/now', NOW).start), '2020-01-01T02:00:00.000Z');
  assert.equal(iso(parseInterval('now-1d|d/now|d', NOW).start), '2019-12-31T00:00:00.000Z');
  assert.equal(iso(parseInterval('now-1d|d/now|d', NOW).end), '2020-01-01T00:00:00.000Z');
  const dur = parseInterval('2026-11-23T00:00:00Z/PT6H', NOW);
  assert.equal(iso(dur.end), '2026-11-23T06:00:00.000Z');
  assert.equal(iso(parseInterval('P1D/2026-11-23T00:00:00Z', NOW).start), '2026-11-22T00:00:00.000Z');
  assert.equal(iso(parseInterval('2026-11-23T10:00/2026-11-23T11:00', NOW).start), '2026-11-23T10:00:00.000Z');
});

test('bad intervals are INVALID_INTERVAL with the value in the message', () => {
  for (const bad of ['', 'now', 'now/now', 'now+1h/now', 'yesterday/now', '2026-13-01T00:00:00Z/now', 'now-6x/now', 'P0D/now', 'a/b/c']) {
    assert.throws(
      () => parseInterval(bad, NOW),
      (e: unknown) => isStrataError(e) && e.code === 'INVALID_INTERVAL' && e.message.includes(JSON.stringify(bad).slice(1, -1)),
      bad,
    );
  }
});
