import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { SMALL } from '../helpers/fixture.ts';

async function fingerprint(seed: number): Promise<string> {
  const store = await DuckDbStore.open(':memory:');
  await store.seed({ ...SMALL, seed, days: 1 });
  const rows = await store.read(
    // Order-independent and exact: an integer sum of per-row digests (insertion order may vary with
    // threads, and a floating-point sum would then differ in its last digit).
    `SELECT CAST(sum(CAST(md5_number(concat_ws('|', epoch_ms(__time), tenant_id, resource_id, metric, topic, "partition", request_type, consumer_group_id, value)) % 1000000007 AS BIGINT)) AS VARCHAR) AS h,
       count(*) AS n FROM telemetry_raw`,
    [],
  );
  await store.close();
  return `${rows[0]?.['h']}:${rows[0]?.['n']}`;
}

test('the same seed gives the same data; another seed does not', async () => {
  const a = await fingerprint(5);
  assert.equal(await fingerprint(5), a);
  assert.notEqual(await fingerprint(6), a);
});

test('labels a metric does not have are NULL; values are whole numbers', async () => {
  const store = await DuckDbStore.open(':memory:');
  await store.seed({ ...SMALL, days: 1 });
  const rows = await store.read(
    `SELECT count(*) FILTER (WHERE metric LIKE '%received_bytes' AND (topic IS NULL OR "partition" IS NOT NULL OR request_type IS NOT NULL)) AS bad_labels,
            count(*) FILTER (WHERE value <> floor(value)) AS fractional FROM telemetry_raw`,
    [],
  );
  await store.close();
  assert.deepEqual([Number(rows[0]?.['bad_labels']), Number(rows[0]?.['fractional'])], [0, 0]);
});
