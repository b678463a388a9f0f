import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { App } from '../api/app.ts';
import type { Reader } from '../auth/principal.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { execute, principal, seededStore, testApp } from './helpers/fixture.ts';
import { ROOT } from './helpers/server-process.ts';

/** The roles that read (a collector reads nothing). */
type Role = Reader['role'];

/**
 * The user guides' queries are copied by people: every ```graphql block in
 * docs/guides runs here as the role the guide names (the nearest
 * `<!-- role: … -->` above it) and must answer without an error.
 */
const GUIDES = `${ROOT}docs/guides/`;
let store: DuckDbStore;
let app: App;
let cluster: string;

before(async () => {
  store = await seededStore();
  app = await testApp(store);
  cluster = app.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => {
  await app.close();
  await store.close();
});

function blocksOf(markdown: string): { role: Role; query: string }[] {
  const blocks: { role: Role; query: string }[] = [];
  let role: Role | undefined;
  const pattern = /<!-- role: (customer|internal|billing) -->|```graphql\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) {
    if (match[1]) role = match[1] as Role;
    else if (match[2]) blocks.push({ role: role ?? 'customer', query: match[2] });
  }
  return blocks;
}

for (const file of readdirSync(GUIDES).filter((f) => f.endsWith('.md'))) {
  test(`every query in docs/guides/${file} answers without an error`, async () => {
    const blocks = blocksOf(readFileSync(GUIDES + file, 'utf8'));
    assert.ok(blocks.length > 0, 'a guide has copyable queries');
    for (const { role, query } of blocks) {
      const variables = query.includes('$cluster') ? { cluster } : {};
      const result = await execute(app, principal(role, role === 'customer' ? 't-1' : undefined), query, variables);
      assert.equal(result.errors, undefined, `${file} (${role}): ${query.slice(0, 80)}\n${JSON.stringify(result.errors)}`);
      assert.ok(result.data && Object.values(result.data).every((v) => v !== null), `${file}: no field came back null`);
    }
  });
}
