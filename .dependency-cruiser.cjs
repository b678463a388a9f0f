/**
 * The allowed directions between Strata's rooms, written down once and
 * checked by `npm run lint` (which `npm test` runs first). ARCHITECTURE.md
 * draws the same layers. From the top:
 *
 *   api/ (process, composition, router)  →  api/http, api/graphql, api/export
 *   resolvers/                    thin GraphQL resolvers and the request context
 *   pipeline/ events/ aggregator/ subscriptions/
 *   observability/                metrics, traces, logs
 *   auth/ cache/ store/           each behind its contract
 *   ingest/                       telemetry in: mapping, validation, the derivation rule, the writer contract
 *   demo/                         npm start's synthetic telemetry feed (an OpenTelemetry SDK client of the receiver)
 *   planner/                      pure routing
 *   catalog/ config/ errors/ schema/ explorer/   leaves
 *
 * A room may import rooms below it, never above or beside it unless a rule
 * says so; tests, bench and scripts stand outside and may import anything
 * of the product, but the product never imports them.
 */
const LEAVES = '^(catalog|config|errors|schema|explorer)/';
const below = (rooms) => `^(${rooms.join('|')})/`;

/** `from` may import nothing of the product but these rooms (and itself). */
const onlyDown = (name, from, allowed) => ({
  name,
  severity: 'error',
  comment: `${from} may import only ${allowed.join(', ')} of the product`,
  from: { path: `^${from}/` },
  to: { path: '^(api|resolvers|pipeline|events|aggregator|subscriptions|observability|auth|cache|store|ingest|demo|planner|catalog|config|errors|schema|explorer)/', pathNot: [`^${from}/`, below(allowed)] },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'files that import each other in a loop', from: {}, to: { circular: true } },
    {
      name: 'edge-on-top',
      severity: 'error',
      comment: 'nothing below the edge knows HTTP or GraphQL serving: only api/ (and tests, bench, scripts) import api/',
      from: { pathNot: '^(api|test|bench|scripts)/' },
      to: { path: '^api/' },
    },
    {
      name: 'api-rooms-below-the-root',
      severity: 'error',
      comment: "api/http, api/graphql, api/export and api/otlp never import api/'s root files (process, composition, router)",
      from: { path: '^api/(http|graphql|export|otlp)/' },
      to: { path: '^api/[^/]+$' },
    },
    { name: 'graphql-not-http', severity: 'error', comment: 'the GraphQL room does not depend on HTTP admission', from: { path: '^api/graphql/' }, to: { path: '^api/(http|export)/' } },
    { name: 'http-not-export', severity: 'error', comment: '/export and /v1/metrics build on admission, not the reverse', from: { path: '^api/http/' }, to: { path: '^api/(export|graphql|otlp)/' } },
    { name: 'otlp-apart', severity: 'error', comment: 'the OTLP receiver builds on admission only, and no read room imports it', from: { path: '^api/otlp/' }, to: { path: '^api/(graphql|export)/' } },
    { name: 'reads-not-otlp', severity: 'error', comment: 'the read rooms of the edge do not import the OTLP receiver', from: { path: '^api/(graphql|export)/' }, to: { path: '^api/otlp/' } },
    onlyDown('resolvers-layer', 'resolvers', ['pipeline', 'events', 'aggregator', 'subscriptions', 'observability', 'auth', 'cache', 'store', 'planner', 'catalog', 'config', 'errors', 'schema']),
    onlyDown('pipeline-layer', 'pipeline', ['observability', 'cache', 'store', 'planner', 'catalog', 'config', 'errors']),
    onlyDown('events-layer', 'events', ['observability', 'cache', 'planner', 'catalog', 'config', 'errors']),
    onlyDown('aggregator-layer', 'aggregator', ['events', 'observability', 'store', 'planner', 'catalog', 'config', 'errors']),
    onlyDown('subscriptions-layer', 'subscriptions', ['events', 'planner', 'catalog', 'errors']),
    onlyDown('observability-layer', 'observability', ['cache', 'store', 'planner', 'catalog', 'config', 'errors']),
    onlyDown('auth-layer', 'auth', ['planner', 'catalog', 'config', 'errors']),
    onlyDown('cache-layer', 'cache', ['planner', 'catalog', 'config', 'errors']),
    onlyDown('store-layer', 'store', ['ingest', 'planner', 'catalog', 'config', 'errors']),
    onlyDown('ingest-layer', 'ingest', ['planner', 'catalog', 'errors']),
    onlyDown('planner-layer', 'planner', ['catalog', 'errors']),
    // A client of the API like any other: it knows the wire, not the product.
    onlyDown('demo-apart', 'demo', []),
    {
      name: 'leaves-import-no-room',
      severity: 'error',
      comment: 'catalog, config, errors, schema and explorer are leaves',
      from: { path: LEAVES },
      to: { path: '^(api|resolvers|pipeline|events|aggregator|subscriptions|observability|auth|cache|store|ingest|demo|planner)/' },
    },
    {
      name: 'ingest-does-no-io',
      severity: 'error',
      comment: 'ingest/ maps and derives; the HTTP edge and the stores do the I/O: no Node module, and of packages only the write queue',
      from: { path: '^ingest/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'core'], pathNot: '^p-queue$' },
    },
    {
      name: 'planner-is-pure',
      severity: 'error',
      comment: 'the planner does no I/O: no package and no Node module but crypto (hashing)',
      from: { path: '^planner/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'stores-apart',
      severity: 'error',
      comment: 'one store backend never imports another: shared facts belong to the catalog or store/',
      from: { path: '^store/(duckdb|druid|ipc)/' },
      to: { path: '^store/(duckdb|druid|ipc)/', pathNot: '^store/$1/' },
    },
    { name: 'bench-not-test', severity: 'error', comment: 'the bench does not reach into the test suite', from: { path: '^bench/' }, to: { path: '^test/' } },
    {
      name: 'product-not-tooling',
      severity: 'error',
      comment: 'the product never imports tests, bench or scripts',
      from: { pathNot: '^(test|bench|scripts)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.cache|\\.it|\\.scratch|data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
