import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { loadConfig } from '../../config/config.ts';
import { flushTracing, installTracing, isTracing } from '../../observability/tracing.ts';
import { observedReplica, panelDocument, query } from './observed-replica.ts';

interface Received {
  readonly path: string | undefined;
  readonly type: string | undefined;
  readonly body: Buffer;
}

interface OtlpBody {
  readonly resourceSpans: {
    readonly resource: { readonly attributes: { readonly key: string; readonly value: { readonly stringValue?: string } }[] };
    readonly scopeSpans: { readonly spans: { readonly name: string; readonly spanId: string; readonly parentSpanId?: string }[] }[];
  }[];
}

/** A stand-in OTLP/HTTP collector on loopback: keeps what the exporter posts. */
async function collector(): Promise<{ url: string; received: Received[]; close(): void }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, received, close: () => server.close() };
}

test('with STRATA_OTLP_ENDPOINT, spans are exported over OTLP/HTTP to <endpoint>/v1/traces', async () => {
  const sink = await collector();
  const config = loadConfig({}, { STRATA_OTLP_ENDPOINT: sink.url });
  assert.equal(config.tracing.otlpEndpoint, sink.url);
  // What createApp does with the configuration (the first installation of a process wins).
  await installTracing({ ...config.tracing, serviceInstanceId: 'otlp-test' });
  assert.equal(isTracing(), true);
  const { replica, store, cluster } = await observedReplica();
  try {
    await query(replica, replica.token('customer', 't-1'), panelDocument(cluster));
    await flushTracing();
    const posts = sink.received.filter((r) => r.path === '/v1/traces');
    assert.ok(posts.length >= 1, `posts: ${sink.received.map((r) => r.path).join(', ')}`);
    assert.equal(posts[0]?.type, 'application/json');
    // OTLP/JSON: resourceSpans → scopeSpans → spans.
    const batches = posts.map((p) => JSON.parse(p.body.toString('utf8')) as OtlpBody);
    const resources = batches.flatMap((b) => b.resourceSpans);
    const attributes = resources.flatMap((r) => r.resource.attributes).map((a) => `${a.key}=${a.value.stringValue ?? ''}`);
    assert.ok(attributes.includes('service.name=strata'));
    assert.ok(attributes.includes('service.instance.id=otlp-test'));
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const byName = new Map(spans.map((s) => [s.name, s]));
    for (const name of ['POST /graphql', 'query Panel', 'strata.plan', 'strata.cache.lookup', 'strata.store.query'])
      assert.ok(byName.has(name), `${name} exported`);
    assert.equal(byName.get('query Panel')?.parentSpanId, byName.get('POST /graphql')?.spanId);
    assert.equal(byName.get('strata.store.query')?.parentSpanId, byName.get('query Panel')?.spanId);
  } finally {
    await replica.stop();
    await store.close();
    sink.close();
  }
});
