/**
 * Line and bar charts of the bench's series as standalone SVG, written by
 * hand: no chart package, no script in the output, and the same input always
 * gives the same bytes (so a regenerated chart diffs only where a number moved).
 * Pure: data in, text out; bench/lib/chart-files.ts writes the files.
 */
import type { ChartData, Series } from './report.ts';

export interface ChartOptions {
  readonly width?: number;
  /** Of the plot area; the picture is as much taller as its title, caption, legend and x axis need. */
  readonly plotHeight?: number;
  /** Lines under the title: which run, which settings. */
  readonly caption?: readonly string[];
}

/** Where the plot sits in the picture, and data -> pixel maps for both axes. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  /** The caption wrapped to the width. */
  readonly caption: readonly string[];
  readonly legendRows: readonly (readonly LegendItem[])[];
  readonly yTicks: readonly number[];
  readonly xTicks: readonly number[];
  /** The distinct x values of a bar chart, one group of bars each. */
  readonly categories: readonly number[];
  y(v: number): number;
  x(v: number): number;
}

/** Okabe and Ito's palette: told apart with every common kind of colour blindness. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Roughly the advance of one character at 11 px in a sans-serif face, to lay out legends and captions. */
const CHAR_PX = 6.3;

export const colour = (i: number): string => COLOURS[i % COLOURS.length]!;

/** A legend entry: a series' colour, or the target's dashed line. */
interface LegendItem {
  readonly name: string;
  readonly x: number;
  readonly colour: string;
  readonly dashed: boolean;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** About `count` ticks at 1, 2, 2.5 or 5 times a power of ten, covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) [lo, hi] = lo === 0 ? [0, 1] : [Math.min(0, lo), Math.max(0, lo) + Math.abs(lo)];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * 0.999) ?? 10 * magnitude;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // `+ 0` turns a -0 (from Math.ceil of a tiny negative) into 0, which prints without a sign.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)) + 0);
  return ticks;
}

/** A linear map of [d0, d1] onto [r0, r1]; a domain of one value maps to the middle of the range. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/** A number as a label: thousands separated, with as many decimals as `step` (the gap between labels) has. */
export function formatNumber(v: number, step = 1): string {
  const decimals = (Math.abs(step).toFixed(10).replace(/0+$/, '').split('.')[1] ?? '').length;
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A measured value as a label: three significant figures or so. */
export const formatValue = (v: number): string => formatNumber(v, Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 10 ? 0.1 : 0.01);

const finite = (s: Series): (readonly [number, number])[] => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));

const unitSuffix = (unit: string): string => (unit ? ` (${unit})` : '');

/** The legend (the series, then the target), wrapped into rows that fit the width. */
function legendRows(chart: ChartData, left: number, width: number): LegendItem[][] {
  const items = chart.series.map((s, i) => ({ name: s.name, colour: colour(i), dashed: false }));
  if (chart.target && Number.isFinite(chart.target.value)) items.push({ name: chart.target.label, colour: '#222', dashed: true });
  const rows: LegendItem[][] = [[]];
  let x = left;
  for (const item of items) {
    const w = 26 + item.name.length * CHAR_PX + 16;
    if (x + w > width - 10 && x > left) {
      rows.push([]);
      x = left;
    }
    rows[rows.length - 1]!.push({ ...item, x });
    x += w;
  }
  return rows.filter((r) => r.length > 0);
}

/** Joins pieces into lines of at most `max` characters (a longer piece gets a line of its own). */
function fill(pieces: readonly string[], separator: string, max: number): string[] {
  const out: string[] = [];
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if (last !== undefined && last.length + separator.length + piece.length <= max) out[out.length - 1] = `${last}${separator}${piece}`;
    else out.push(piece);
  }
  return out;
}

/** Caption lines longer than the width, broken at their ` · ` separators, then between words. */
export function wrapCaption(lines: readonly string[], width: number, left: number): string[] {
  const max = Math.floor((width - left - 10) / CHAR_PX);
  const parts = lines.flatMap((line) => fill(line.split(' · '), ' · ', max));
  return parts.flatMap((part) => (part.length <= max ? [part] : fill(part.split(' '), ' ', max)));
}

/** Lays the chart out and fixes both scales from the data, the target and zero. */
export function frame(chart: ChartData, options: ChartOptions = {}): Frame {
  const width = options.width ?? 760;
  const left = 76;
  const right = width - 24;
  const rows = legendRows(chart, left, width);
  const caption = wrapCaption(options.caption ?? [], width, left);
  const top = 30 + 15 * caption.length + 18 * rows.length + 14;
  const bottom = top + (options.plotHeight ?? 280);
  const height = bottom + 48;
  const points = chart.series.flatMap(finite);
  const ys = [0, ...points.map(([, y]) => y), ...(chart.target && Number.isFinite(chart.target.value) ? [chart.target.value] : [])];
  const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
  // Headroom over the highest value, for the labels over bars and the target's label.
  // A share in % needs no axis past 100.
  const top100 = chart.y.unit === '%' && hi <= 100 ? 100 : Infinity;
  const yTicks = niceTicks(lo, Math.min(top100, hi + (hi - lo) * 0.06));
  const y = linear(yTicks[0]!, yTicks[yTicks.length - 1]!, bottom, top);
  const xs = points.map(([px]) => px);
  const categories = [...new Set(xs)].sort((a, b) => a - b);
  if (chart.kind === 'bar') {
    const band = (right - left) / Math.max(1, categories.length);
    const x = (v: number): number => left + band * (categories.indexOf(v) + 0.5);
    return { width, height, left, right, top, bottom, caption, legendRows: rows, yTicks, xTicks: categories, categories, y, x };
  }
  const marks = (chart.marks ?? []).map((m) => m.x).filter(Number.isFinite);
  const xTicks = xs.length ? niceTicks(Math.min(...xs, ...marks), Math.max(...xs, ...marks), 8) : [0, 1];
  const x = linear(xTicks[0]!, xTicks[xTicks.length - 1]!, left, right);
  return { width, height, left, right, top, bottom, caption, legendRows: rows, yTicks, xTicks, categories, y, x };
}

const px = (v: number): string => (Math.round(v * 10) / 10).toString();

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

function heading(chart: ChartData, f: Frame): string[] {
  const out = [text(f.left, 22, chart.title, 'font-size="15" font-weight="600" fill="#111"')];
  for (const [i, line] of f.caption.entries()) out.push(text(f.left, 40 + 15 * i, line, 'font-size="11" fill="#555"'));
  const legendTop = 30 + 15 * f.caption.length + 14;
  f.legendRows.forEach((row, r) => {
    for (const item of row) {
      const y = legendTop + 18 * r;
      const swatch = item.dashed
        ? `<line x1="${px(item.x)}" x2="${px(item.x + 20)}" y1="${px(y - 4)}" y2="${px(y - 4)}" stroke="${item.colour}" stroke-width="1.4" stroke-dasharray="7 4"/>`
        : `<rect x="${px(item.x)}" y="${px(y - 9)}" width="14" height="10" fill="${item.colour}"/>`;
      out.push(swatch, text(item.x + 26, y, item.name, 'font-size="11" fill="#222"'));
    }
  });
  return out;
}

function axes(chart: ChartData, f: Frame): string[] {
  const out: string[] = [];
  const step = (f.yTicks[1] ?? 1) - (f.yTicks[0] ?? 0);
  for (const t of f.yTicks) {
    out.push(
      `<line x1="${px(f.left)}" x2="${px(f.right)}" y1="${px(f.y(t))}" y2="${px(f.y(t))}" stroke="${t === 0 ? '#888' : '#e3e3e3'}"/>`,
    );
    out.push(text(f.left - 6, f.y(t) + 4, formatNumber(t, step), 'font-size="11" fill="#444" text-anchor="end"'));
  }
  const xStep = chart.kind === 'bar' ? 0 : (f.xTicks[1] ?? 1) - (f.xTicks[0] ?? 0);
  for (const t of f.xTicks) {
    const label = chart.kind === 'bar' ? formatValue(t).replace(/\.0+$/, '') : formatNumber(t, xStep);
    out.push(`<line x1="${px(f.x(t))}" x2="${px(f.x(t))}" y1="${px(f.bottom)}" y2="${px(f.bottom + 4)}" stroke="#888"/>`);
    out.push(text(f.x(t), f.bottom + 17, label, 'font-size="11" fill="#444" text-anchor="middle"'));
  }
  out.push(`<line x1="${px(f.left)}" x2="${px(f.left)}" y1="${px(f.top)}" y2="${px(f.bottom)}" stroke="#888"/>`);
  out.push(
    text(
      (f.left + f.right) / 2,
      f.height - 12,
      chart.x.label + unitSuffix(chart.x.unit),
      'font-size="12" fill="#222" text-anchor="middle"',
    ),
  );
  const cy = (f.top + f.bottom) / 2;
  out.push(
    text(
      18,
      cy,
      chart.y.label + unitSuffix(chart.y.unit),
      `font-size="12" fill="#222" text-anchor="middle" transform="rotate(-90 18 ${px(cy)})"`,
    ),
  );
  return out;
}

function lines(chart: ChartData, f: Frame): string[] {
  const out: string[] = [];
  chart.series.forEach((s, i) => {
    const pts = [...finite(s)].sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return;
    const c = colour(i);
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="1.6" stroke-linejoin="round" points="${pts.map(([x, y]) => `${px(f.x(x))},${px(f.y(y))}`).join(' ')}"/>`,
    );
    // Markers (with the value on hover) where there are few enough points to see them one by one.
    if (pts.length <= 60) {
      for (const [x, y] of pts)
        out.push(
          `<circle cx="${px(f.x(x))}" cy="${px(f.y(y))}" r="2.6" fill="${c}"><title>${escapeXml(`${s.name}: ${formatValue(y)} ${s.unit} at ${formatValue(x)}`)}</title></circle>`,
        );
    }
  });
  return out;
}

function bars(chart: ChartData, f: Frame): string[] {
  const out: string[] = [];
  const band = (f.right - f.left) / Math.max(1, f.categories.length);
  const n = Math.max(1, chart.series.length);
  const w = (band * 0.8) / n;
  chart.series.forEach((s, i) => {
    for (const [x, y] of finite(s)) {
      const x0 = f.x(x) - band * 0.4 + w * i;
      const [y0, y1] = [f.y(0), f.y(y)];
      const tip = escapeXml(`${s.name}: ${formatValue(y)} ${s.unit}`);
      out.push(
        `<rect x="${px(x0 + 1)}" y="${px(Math.min(y0, y1))}" width="${px(Math.max(1, w - 2))}" height="${px(Math.abs(y1 - y0))}" fill="${colour(i)}"><title>${tip}</title></rect>`,
      );
      // A white halo keeps the value legible where it crosses the target's line.
      if (w >= 22)
        out.push(
          text(
            x0 + w / 2,
            Math.min(y0, y1) - 4,
            formatValue(y),
            'font-size="10" fill="#333" text-anchor="middle" stroke="#fff" stroke-width="3" paint-order="stroke"',
          ),
        );
    }
  });
  return out;
}

function guides(chart: ChartData, f: Frame): string[] {
  const out: string[] = [];
  const t = chart.target;
  if (t && Number.isFinite(t.value)) {
    const y = f.y(t.value);
    // Its label is in the legend, where no bar or line can cover it.
    out.push(
      `<line x1="${px(f.left)}" x2="${px(f.right)}" y1="${px(y)}" y2="${px(y)}" stroke="#222" stroke-width="1.4" stroke-dasharray="7 4"><title>${escapeXml(t.label)}</title></line>`,
    );
  }
  if (chart.kind !== 'line') return out;
  for (const m of chart.marks ?? []) {
    if (!Number.isFinite(m.x)) continue;
    const x = f.x(m.x);
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${px(f.top)}" y2="${px(f.bottom)}" stroke="#666" stroke-dasharray="3 3"/>`);
    out.push(text(x + 4, f.bottom - 6, m.label, 'font-size="11" fill="#444"'));
  }
  return out;
}

/** The whole chart as one SVG document. */
export function renderChart(chart: ChartData, options: ChartOptions = {}): string {
  const f = frame(chart, options);
  const hasData = chart.series.some((s) => finite(s).length > 0);
  const body = hasData
    ? [...axes(chart, f), ...guides(chart, f), ...(chart.kind === 'bar' ? bars(chart, f) : lines(chart, f))]
    : [text((f.left + f.right) / 2, (f.top + f.bottom) / 2, 'no data in this run', 'font-size="13" fill="#666" text-anchor="middle"')];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" ${FONT}>`,
    `<title>${escapeXml(chart.title)}</title>`,
    ...(options.caption?.length ? [`<desc>${escapeXml(options.caption.join(' · '))}</desc>`] : []),
    `<rect width="${f.width}" height="${f.height}" fill="#fff"/>`,
    ...heading(chart, f),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
