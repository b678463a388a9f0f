/** What a scenario hands back: figures, the target and whether this run met it. */
export interface ScenarioReport {
  readonly id: number;
  readonly title: string;
  readonly target: string;
  readonly met: boolean;
  /** Ordered figure name -> printed value. */
  readonly figures: ReadonlyArray<readonly [string, string]>;
  readonly notes: readonly string[];
  /** The numbers behind the figures, for charts (bench/charts.ts); only in last-run.json. */
  readonly charts?: readonly ChartData[];
}

/** One measured series: [x, y] points, y in `unit`. */
export interface Series {
  readonly name: string;
  readonly unit: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface Axis {
  readonly label: string;
  /** Empty for a plain count or ratio. */
  readonly unit: string;
}

/**
 * Series drawn on one pair of axes. A line chart joins the points in x order;
 * a bar chart puts the series side by side at each distinct x (a round, a pair, a data set size).
 */
export interface ChartData {
  /** File name stem, unique in a run: `scenario-<id>-<what>`. */
  readonly id: string;
  readonly title: string;
  readonly kind: 'line' | 'bar';
  readonly x: Axis;
  readonly y: Axis;
  readonly series: readonly Series[];
  /** The scenario's target, drawn as a dashed line. */
  readonly target?: { readonly value: number; readonly label: string };
  /** Vertical dashed lines at these x (e.g. where a soak's judged half starts). */
  readonly marks?: ReadonlyArray<{ readonly x: number; readonly label: string }>;
}

/** `.cache/bench/last-run.json`: the run's settings and every scenario's report. */
export interface RunRecord {
  readonly startedAt: string;
  readonly node: string;
  readonly cores: number;
  readonly cpu: string;
  /** The command as typed, e.g. `npm run bench -- --scenario 1 --round 3`. */
  readonly command: string;
  /** `git rev-parse --short HEAD`, and whether tracked files differed from it. */
  readonly commit: { readonly id: string; readonly dirty: boolean } | null;
  /** The 1-minute load average when the run started: the machine's cores are shared. */
  readonly load1?: number;
  readonly roundS: number;
  readonly soakS: number;
  readonly scenarios: readonly ScenarioReport[];
}

export interface ScenarioOptions {
  /** Seconds of load per measured round (scenarios pick sensible defaults). */
  readonly roundS: number;
  /** Scenario 5's soak length in seconds (default 1200: half warm-up, half judged). */
  readonly soakS: number;
  /** Where bench data and results live (git-ignored). */
  readonly dir: string;
}

/** `npm run bench`'s defaults: a run with other values is a short (or long) one, and its charts say so. */
export const DEFAULT_ROUND_S = 8;
export const DEFAULT_SOAK_S = 1200;

export function markdown(report: ScenarioReport): string {
  const rows = report.figures.map(([k, v]) => `| ${k} | ${v} |`).join('\n');
  const notes = report.notes.map((n) => `- ${n}`).join('\n');
  return `### ${report.id}. ${report.title}\n\nTarget: ${report.target} — **${report.met ? 'met' : 'missed'}**\n\n| figure | value |\n|---|---|\n${rows}\n${notes ? `\n${notes}\n` : ''}`;
}

/** Points [1, y1], [2, y2], ...: one per round or pair, numbered from 1. */
export const numbered = (ys: readonly number[]): [number, number][] => ys.map((y, i) => [i + 1, y]);
