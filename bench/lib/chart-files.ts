import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ROUND_S, DEFAULT_SOAK_S, type RunRecord, type ScenarioReport } from './report.ts';
import { renderChart } from './svg-chart.ts';

/** Where `npm run bench` draws the charts of its run; publishing them is a separate, deliberate copy. */
export const RUN_CHARTS_DIR = join('.cache', 'bench', 'charts');
/** Where BENCHMARKS.md takes its charts from. */
export const PUBLISHED_DIR = join('docs', 'bench');

/** What a scenario's length was set to in this run, said plainly when it is not the default. */
function settingsOf(run: RunRecord, id: number): string {
  const other = (value: number, fallback: number): string =>
    value === fallback ? '' : value < fallback ? ` (default ${fallback} s: a short run)` : ` (default ${fallback} s)`;
  if (id === 1 || id === 2 || id === 6) return `rounds of ${run.roundS} s${other(run.roundS, DEFAULT_ROUND_S)}`;
  if (id === 5) return `soak of ${run.soakS} s${other(run.soakS, DEFAULT_SOAK_S)}`;
  return '';
}

/** The two lines under a chart's title: the run (when, what code, what machine) and its settings. */
export function captionOf(run: RunRecord, report: ScenarioReport): string[] {
  const when = `${run.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
  const commit = run.commit ? `commit ${run.commit.id}${run.commit.dirty ? ' + uncommitted changes' : ''}` : 'commit unknown';
  const load = run.load1 === undefined ? '' : `, load average ${run.load1.toFixed(1)}`;
  const settings = [settingsOf(run, report.id), `scenario's target (${report.target}) ${report.met ? 'met' : 'missed'}`]
    .filter(Boolean)
    .join(' · ');
  return [`Run ${when} · ${commit} · Node ${run.node} · ${run.cores} shared cores${load}`, `${run.command} · ${settings}`];
}

/** Reads a last-run.json, refusing anything that is not one. */
export function readRun(file: string): RunRecord {
  const run = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunRecord>;
  if (typeof run.startedAt !== 'string' || !Array.isArray(run.scenarios))
    throw new Error(`${file}: not a bench run record (no startedAt or scenarios)`);
  return run as RunRecord;
}

/**
 * Draws every chart of the runs into `dir`, one `<chart id>.svg` each; a chart
 * id met again in a later run replaces the earlier one. `clear` first removes
 * the SVG files already there, so the folder holds this run's charts only.
 */
export function writeCharts(runs: readonly RunRecord[], dir: string, clear = false): string[] {
  mkdirSync(dir, { recursive: true });
  if (clear) for (const name of readdirSync(dir)) if (name.endsWith('.svg')) rmSync(join(dir, name));
  const written = new Map<string, string>();
  for (const run of runs) {
    for (const report of run.scenarios) {
      for (const chart of report.charts ?? []) {
        const file = join(dir, `${chart.id}.svg`);
        writeFileSync(file, renderChart(chart, { caption: captionOf(run, report) }));
        written.set(chart.id, file);
      }
    }
  }
  return [...written.values()].sort();
}
