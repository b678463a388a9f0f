import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClientSchema, buildSchema, getIntrospectionQuery, lexicographicSortSchema, printSchema, type IntrospectionQuery } from 'graphql';
import { SCHEMA_SDL } from '../schema/schema-sdl.ts';
import { seededStore } from './helpers/fixture.ts';
import { startReplica } from './helpers/edge-server.ts';

/**
 * schema/schema.graphql is the published contract. The schema the running
 * server answers with (introspection over HTTP, development mode) must print
 * exactly as the file does: a change to one without the other fails CI.
 */
test('the published SDL file matches the schema the running server serves', async () => {
  const store = await seededStore({ seed: 1, tenants: 1, clusters: 1, topics: 1, partitions: 1, days: 1, end: Date.parse('2026-11-20T00:00:00Z') });
  const replica = await startReplica(store);
  try {
    const response = await fetch(`${replica.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${replica.token('internal')}` },
      body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true }) }),
    });
    const body = (await response.json()) as { data: IntrospectionQuery; errors?: unknown };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const served = printSchema(lexicographicSortSchema(buildClientSchema(body.data)));
    const published = printSchema(lexicographicSortSchema(buildSchema(SCHEMA_SDL)));
    assert.equal(served, published, 'update schema/schema.graphql (or the server) so that both agree');
  } finally {
    await replica.stop();
    await store.close();
  }
});
