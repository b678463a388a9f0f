import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captionOf } from '../../bench/lib/chart-files.ts';
import type { ChartData, RunRecord, ScenarioReport } from '../../bench/lib/report.ts';
import { formatNumber, frame, niceTicks, renderChart, wrapCaption } from '../../bench/lib/svg-chart.ts';

/** Checks that the text is one well-formed XML element: tags nest and close, attributes are quoted, text has no bare `<` or `&`. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const textPart = svg.slice(i, lt === -1 ? svg.length : lt);
    assert.doesNotMatch(textPart, /&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/, `bare & in text near ${i}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    assert.ok(m, `malformed tag at ${lt}: ${svg.slice(lt, lt + 80)}`);
    const [whole, close, name, , selfClosing] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes another element`);
    else if (!selfClosing) {
      if (stack.length === 0) roots += 1;
      stack.push(name!);
    } else if (stack.length === 0) roots += 1;
    i = lt + whole.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

const attr = (element: string, name: string): number => Number(new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1]);

const line: ChartData = {
  id: 'scenario-5-rss',
  title: 'RSS <sampled> & judged',
  kind: 'line',
  x: { label: 'time', unit: 's' },
  y: { label: 'memory', unit: 'MB' },
  series: [
    {
      name: 'RSS',
      unit: 'MB',
      points: [
        [0, 140],
        [30, 210],
        [60, 230],
        [90, 220],
      ],
    },
    {
      name: 'file-backed',
      unit: 'MB',
      points: [
        [0, 77],
        [30, 77],
        [60, 77],
        [90, 77],
      ],
    },
  ],
  target: { value: 256, label: 'bound: RSS < 256 MB' },
  marks: [{ x: 45, label: 'judged half starts' }],
};

const bar: ChartData = {
  id: 'scenario-1-ratio',
  title: 'ratio per pair',
  kind: 'bar',
  x: { label: 'alternating pair', unit: '' },
  y: { label: 'ratio', unit: '' },
  series: [
    {
      name: 'ratio',
      unit: '',
      points: [
        [1, 0.3],
        [2, 0.6],
        [3, 0.45],
      ],
    },
  ],
  target: { value: 0.25, label: 'target ≥ 0.25' },
};

describe('bench: SVG charts', () => {
  it('renders a standalone, well-formed SVG with its text escaped', () => {
    for (const chart of [line, bar]) {
      const svg = renderChart(chart, { caption: ['Run 2026-01-01 00:00 UTC', '`npm run bench -- --round 3` · rounds of 3 s'] });
      assertWellFormed(svg);
      const [, w, h, vw, vh] =
        /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"/.exec(svg) ?? [];
      assert.ok(w === '760' && vw === w && vh === h && Number(h) > 280, `size ${w}×${h}`);
      assert.doesNotMatch(svg, /NaN|Infinity|undefined|<script/);
    }
    const svg = renderChart(line);
    assert.match(svg, /<title>RSS &#60;sampled&#62; &#38; judged<\/title>/);
    assert.ok(!svg.includes('<sampled>'));
  });

  it('picks ticks at 1, 2, 2.5 or 5 times a power of ten that cover the values', () => {
    for (const [lo, hi] of [
      [0, 256],
      [0, 0.54],
      [140, 263.3],
      [-2.5, 1.7],
      [0, 12_672],
      [3.3, 100],
      [0, 1],
    ] as const) {
      const ticks = niceTicks(lo, hi);
      assert.ok(ticks[0]! <= lo && ticks[ticks.length - 1]! >= hi, `${ticks} covers ${lo}..${hi}`);
      assert.ok(ticks.length >= 3 && ticks.length <= 12, `${ticks.length} ticks for ${lo}..${hi}`);
      const step = ticks[1]! - ticks[0]!;
      const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6));
      assert.ok([1, 2, 2.5, 5].includes(mantissa), `step ${step}`);
      for (const t of ticks) assert.equal(t, Number(t.toPrecision(10)), `no float noise in ${t}`);
    }
    assert.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.ok(!Object.is(niceTicks(-1, 0).at(-1), -0));
    assert.deepEqual(niceTicks(NaN, 5), [0, 1]);
  });

  it('places each point of a line at its scaled position, zero at the bottom, the target and marks dashed', () => {
    const f = frame(line);
    assert.equal(f.y(0), f.bottom);
    assert.ok(f.y(256) >= f.top && f.y(263) > f.top - 1, 'the target fits in the plot');
    assert.ok(f.x(0) >= f.left && f.x(90) <= f.right);
    const svg = renderChart(line);
    const polyline = /<polyline [^>]*points="([^"]+)"/.exec(svg)?.[1] ?? '';
    const drawn = polyline.split(' ').map((p) => p.split(',').map(Number));
    const expected = line.series[0]!.points.map(([x, y]) => [f.x(x), f.y(y)]);
    assert.equal(drawn.length, expected.length);
    drawn.forEach(([x, y], k) => {
      assert.ok(Math.abs(x! - expected[k]![0]!) < 0.06 && Math.abs(y! - expected[k]![1]!) < 0.06, `point ${k}`);
    });
    const dashed = [...svg.matchAll(/<line [^>]*stroke-dasharray="[^"]+"[^>]*>/g)]
      .map((m) => m[0])
      .filter((l) => attr(l, 'x1') >= f.left && attr(l, 'y1') >= f.top);
    assert.equal(dashed.length, 2, 'one target line, one mark (besides the legend swatch)');
    assert.ok(Math.abs(attr(dashed[0]!, 'y1') - f.y(256)) < 0.06);
    assert.ok(Math.abs(attr(dashed[1]!, 'x1') - f.x(45)) < 0.06);
    assert.match(svg, /bound: RSS &#60; 256 MB/, 'the target named in the legend');
    assert.match(svg, /memory \(MB\)/);
    assert.match(svg, /time \(s\)/);
  });

  it('draws bars from zero, their heights in proportion to the values', () => {
    const f = frame(bar);
    const rects = [...renderChart(bar).matchAll(/<rect [^>]*><title>ratio: [^<]*<\/title><\/rect>/g)].map((m) => m[0]);
    assert.equal(rects.length, 3);
    const heights = rects.map((r) => attr(r, 'height'));
    for (const r of rects) assert.ok(Math.abs(attr(r, 'y') + attr(r, 'height') - f.y(0)) < 0.11, 'standing on zero');
    assert.ok(Math.abs(heights[1]! / heights[0]! - 2) < 0.01);
    assert.ok(Math.abs(heights[2]! / heights[0]! - 1.5) < 0.01);
    const xs = rects.map((r) => attr(r, 'x'));
    assert.ok(xs[0]! < xs[1]! && xs[1]! < xs[2]!, 'pairs in order');
  });

  it('leaves out points that are not numbers, and says so when nothing is left', () => {
    const holes: ChartData = {
      ...bar,
      series: [
        {
          name: 'ratio',
          unit: '',
          points: [
            [1, NaN],
            [2, 0.5],
            [Infinity, 1],
            [3, -Infinity],
          ],
        },
      ],
    };
    const svg = renderChart(holes);
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /NaN|Infinity/);
    assert.equal([...svg.matchAll(/<title>ratio: /g)].length, 1);
    const empty = renderChart({
      ...line,
      series: [{ name: 'RSS', unit: 'MB', points: [[0, NaN]] }],
      target: { value: NaN, label: 'none' },
    });
    assertWellFormed(empty);
    assert.match(empty, /no data in this run/);
    assert.doesNotMatch(empty, /NaN|Infinity/);
  });

  it('draws a single point and a flat series without dividing by zero', () => {
    for (const points of [
      [[5, 7]],
      [
        [0, 3],
        [10, 3],
      ],
      [[2, 0]],
    ] as [number, number][][]) {
      const svg = renderChart({ ...line, series: [{ name: 's', unit: 'ms', points }], target: undefined, marks: [] });
      assertWellFormed(svg);
      assert.doesNotMatch(svg, /NaN|Infinity/);
    }
  });

  it('wraps a long caption at its separators to the width', () => {
    const lines = wrapCaption(
      ['Run 2026-11-25 18:40 UTC · commit abc1234 with uncommitted changes · Node v20.20.2 · 2 cores · load average 2.8 at start'],
      400,
      76,
    );
    assert.ok(lines.length >= 2);
    for (const l of lines) assert.ok(l.length <= Math.floor((400 - 86) / 6.3), l);
    assert.equal(
      lines.join(' · '),
      'Run 2026-11-25 18:40 UTC · commit abc1234 with uncommitted changes · Node v20.20.2 · 2 cores · load average 2.8 at start',
    );
    const words = wrapCaption(
      ["scenario's target (req/s with STRATA_WORKERS=2 ÷ STRATA_WORKERS=1 ≥ 1.6 (executed workload, loaded by wrk)) missed"],
      400,
      76,
    );
    assert.ok(words.length >= 2 && words.every((l) => l.length <= 49), words.join('|'));
    const f = frame(line, { width: 400, caption: ['a · b'] });
    assert.deepEqual(f.caption, ['a · b']);
  });

  it('ends the axis of a share in % at 100', () => {
    const share: ChartData = {
      ...bar,
      y: { label: 'share', unit: '%' },
      series: [
        {
          name: 's',
          unit: '%',
          points: [
            [1, 99.8],
            [2, 51],
          ],
        },
      ],
      target: { value: 95, label: 't' },
    };
    assert.equal(frame(share).yTicks.at(-1), 100);
  });

  it('labels numbers with the decimals of their step, thousands separated', () => {
    assert.equal(formatNumber(12_500, 2500), '12,500');
    assert.equal(formatNumber(0.5, 0.25), '0.50');
    assert.equal(formatNumber(1.6, 0.2), '1.6');
    assert.equal(formatNumber(0, 0.1), '0.0');
  });

  it("captions a chart with its run's date, commit and command, and says when the run was short", () => {
    const run: RunRecord = {
      startedAt: '2026-11-25T18:40:12.000Z',
      node: 'v20.20.2',
      cores: 2,
      cpu: 'AMD EPYC',
      command: 'npm run bench -- --scenario 1 --round 3',
      commit: { id: 'abc1234', dirty: true },
      load1: 2.84,
      roundS: 3,
      soakS: 1200,
      scenarios: [],
    };
    const report: ScenarioReport = { id: 1, title: 't', target: 'x', met: true, figures: [], notes: [] };
    const [first, second] = captionOf(run, report);
    assert.equal(
      first,
      'Run 2026-11-25 18:40 UTC · commit abc1234 + uncommitted changes · Node v20.20.2 · 2 shared cores, load average 2.8',
    );
    assert.equal(second, "npm run bench -- --scenario 1 --round 3 · rounds of 3 s (default 8 s: a short run) · scenario's target (x) met");
    assert.match(captionOf({ ...run, soakS: 90 }, { ...report, id: 5 })[1]!, /soak of 90 s \(default 1200 s: a short run\)/);
    assert.doesNotMatch(captionOf({ ...run, roundS: 8 }, report)[1]!, /short/);
  });
});
