import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'graphql';
import { documentStore, heapEstimate } from '../../api/graphql/document-store.ts';
import { dashboardDocument, withoutStats } from '../helpers/documents.ts';
import { execute, principal, seededStore, testApp } from '../helpers/fixture.ts';

/**
 * Apollo keeps every parsed and validated document; ours is bounded by an estimate of the
 * documents' heap (api/document-store.ts), not by their JSON as Apollo's default is.
 */
test("a document's heap estimate follows its source, location and tokens included", () => {
  const source = dashboardDocument('lkc-1');
  const estimate = heapEstimate(parse(source));
  assert.ok(estimate > source.length, 'a parsed document holds more than its source text');
  const twice = `${source}\n${dashboardDocument('lkc-2').replace('query Dashboard', 'query Second')}`;
  const ratio = heapEstimate(parse(twice)) / estimate;
  assert.ok(ratio > 1.9 && ratio < 2.1, `twice the source, about twice the estimate (${ratio.toFixed(2)})`);
  // Without locations (a document built by hand), the JSON stands in for the source.
  const bare = parse(source, { noLocation: true });
  assert.ok(heapEstimate(bare) > 0);
});

test('the store keeps the most recent documents that fit its bound, and drops the rest', async () => {
  const store = documentStore(1024 * 1024);
  const sources = Array.from({ length: 10 }, (_, i) => dashboardDocument(`lkc-${i}`));
  for (const [i, source] of sources.entries()) await store.set(`d${i}`, parse(source));
  const fits = Math.floor((1024 * 1024) / heapEstimate(parse(sources[0] ?? '')));
  assert.ok(fits >= 1 && fits < 10);
  assert.deepEqual(store.keys().sort(), Array.from({ length: fits }, (_, i) => `d${10 - fits + i}`).sort());
  assert.equal(await store.get('d0'), undefined);
  assert.ok(await store.get('d9'));
});

test('with a store too small for the documents in use, every execution still answers, the same each time', async () => {
  const store = await seededStore();
  const app = await testApp(store, { STRATA_DOCUMENT_CACHE_MAX_MB: '1' });
  try {
    const [r] = app.services.resources.list(undefined);
    const who = principal('customer', r?.tenantId);
    // Distinct documents (other aliases), more than 1 MB of them: each round evicts the others.
    const documents = Array.from({ length: 6 }, (_, i) => dashboardDocument(r?.resourceId ?? '').replaceAll(/\bp(\d+):/g, `d${i}p$1:`));
    const first = await Promise.all(documents.map((d) => execute(app, who, d)));
    const second = await Promise.all(documents.map((d) => execute(app, who, d)));
    for (const [i, answer] of second.entries()) {
      assert.equal(answer.errors, undefined);
      assert.deepEqual(withoutStats(answer.data), withoutStats(first[i]?.data));
    }
  } finally {
    await app.close();
    await store.close();
  }
});
