import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import { EXPLORER_CSP } from '../../explorer/explorer-route.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { END, seededStore } from '../helpers/fixture.ts';
import { startReplica, type Replica } from '../helpers/edge-server.ts';
import { ROOT } from '../helpers/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const RECEIVED = 'io.confluent.kafka.server/received_bytes';

/** Chromium comes from Debian (scripts/chromium.sh); a machine without it fails here, saying so. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const install = spawnSync('bash', [join(ROOT, 'scripts/chromium.sh'), 'install'], { encoding: 'utf8' });
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM} and scripts/chromium.sh install could not install it (exit ${install.status}):\n${install.stderr}\nThe explorer browser test needs Debian's chromium package.`,
  );
}

let store: DuckDbStore;
let replica: Replica;
let context: BrowserContext;
let profile: string;
const offsite: string[] = [];
const pageErrors: string[] = [];

async function openExplorer(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const response = await page.goto(`${replica.base}/explorer`);
  assert.equal(response?.status(), 200);
  assert.equal(response?.headers()['content-security-policy'], EXPLORER_CSP);
  return page;
}

/** Pixels of the canvas close to the first series' stroke colour (#2f6fdf): the line was drawn. */
async function seriesPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector('#chart canvas') as HTMLCanvasElement | null;
    if (!canvas) return 0;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let hits = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i]! - 0x2f) < 24 && Math.abs(data[i + 1]! - 0x6f) < 24 && Math.abs(data[i + 2]! - 0xdf) < 24 && data[i + 3]! > 200)
        hits += 1;
    }
    return hits;
  });
}

before(async () => {
  ensureChromium();
  store = await seededStore();
  replica = await startReplica(store);
  profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  // Offline: the page may reach the Strata server on loopback and nothing else.
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]') return route.continue();
    offsite.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await replica?.stop();
  await store?.close();
});

describe('explorer in headless Chromium', { timeout: 120_000 }, () => {
  it('runs a timeseries query with a pasted token and charts its series, offline', async () => {
    const page = await openExplorer();
    await page.fill('#token', replica.token('internal'));
    await page.click('#run');
    await page.waitForSelector('#status[data-runs="1"]');
    assert.match((await page.textContent('#status')) ?? '', /^Ran: HTTP 200, \d+ series/);
    const series = Number(await page.getAttribute('#chart', 'data-series'));
    assert.ok(series >= 2, `expected several series, got ${series}`);
    assert.equal(await page.locator('#chart .uplot canvas').count(), 1);
    // uPlot's legend: the x series plus one row per drawn series.
    assert.equal(await page.locator('#chart .u-legend .u-series').count(), series + 1);
    assert.ok((await seriesPixels(page)) > 100, 'the first series is drawn on the canvas');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png'), fullPage: true });
    assert.deepEqual(offsite, [], 'the page asked for nothing beyond the Strata server');
    assert.deepEqual(pageErrors, [], 'no script error and no Content-Security-Policy violation');
    await page.close();
  });

  it('serves only its own files, each with the self-only policy', async () => {
    for (const path of ['/explorer/explorer.js', '/explorer/vendor/uPlot.iife.min.js', '/explorer/vendor/graphql-ws.min.js']) {
      const response = await fetch(`${replica.base}${path}`);
      assert.deepEqual(
        [response.status, response.headers.get('content-type'), response.headers.get('content-security-policy')],
        [200, 'text/javascript; charset=utf-8', EXPLORER_CSP],
      );
    }
    for (const path of [
      '/explorer/vendor/..%2F..%2Fpackage.json',
      '/explorer/node_modules/ws/package.json',
      '/explorer/public/index.html',
    ]) {
      assert.equal((await fetch(`${replica.base}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${replica.base}/explorer`, { method: 'POST' })).status, 405);
  });

  it('shows the error of a refused token', async () => {
    const page = await openExplorer();
    await page.fill('#token', 'not-a-token');
    await page.click('#run');
    await page.waitForSelector('#status[data-runs="1"]');
    assert.match((await page.textContent('#status')) ?? '', /HTTP 401, 0 series.*UNAUTHENTICATED/);
    pageErrors.length = 0; // the browser logs the 401 itself
    await page.close();
  });

  it('re-runs the query when the subscription says an aggregation landed', async () => {
    const page = await openExplorer();
    await page.fill('#token', replica.token('customer', 't-1'));
    await page.fill(
      '#query',
      `{ timeseries(query: { metric: "${RECEIVED}", granularity: PT1H, interval: "now-1d/now",
      filter: { field: "resource_id", op: EQ, value: "${replica.app.services.resources.list('t-1')[0]?.resourceId}" } }) {
      series { labels { key value } points { timestamp value } } } }`,
    );
    await page.click('#run');
    await page.waitForSelector('#status[data-runs="1"]');
    await page.check('#live');
    while (replica.app.landed.size < 1) await new Promise((r) => setTimeout(r, 20));
    const start = END - 3 * 3_600_000;
    await replica.app.bus.publish(newAggregationEvent('rollup_1h', { start, end: start + 3_600_000 }, ['t-1'], [RECEIVED], END));
    await page.waitForSelector('#status[data-runs="2"]');
    assert.match((await page.textContent('#status')) ?? '', /^Refreshed \(rollup_1h landed for .*\): HTTP 200, 1 series/);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-live.png'), fullPage: true });
    assert.deepEqual(offsite, []);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
