/**
 * npm run bench [-- --scenario N] [-- --duration S] [-- --round S]
 * --round: seconds of load per measured round (scenarios 1, 2, 6; scenario 7
 * pushes as many points per round as --round seconds take at 200,000/s);
 * --duration: the long runs' length (scenario 5's soak, scenario 7's push
 * with dashboards).
 * Runs the benchmark scenarios (see BENCHMARKS.md) and prints their figures
 * as Markdown; the last run is also kept in .cache/bench/last-run.md, with its
 * numbers in .cache/bench/last-run.json and its charts in .cache/bench/charts/.
 * Every figure is a ratio or comparison taken side by side in this run.
 *
 * The charts are drawn into .cache/ (git-ignored), not into docs/bench/: a
 * run is often partial, short or taken on a busy machine, and publishing its
 * charts over the ones BENCHMARKS.md shows should be a decision, not a side
 * effect. The run prints the command that publishes them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/children.ts';
import { PUBLISHED_DIR, RUN_CHARTS_DIR, writeCharts } from './lib/chart-files.ts';
import { DEFAULT_ROUND_S, DEFAULT_SOAK_S, markdown, type RunRecord, type ScenarioOptions, type ScenarioReport } from './lib/report.ts';
import { cachedQuery } from './scenarios/cached-query.ts';
import { dashboardReplay } from './scenarios/dashboard-replay.ts';
import { routing } from './scenarios/routing.ts';
import { freshness } from './scenarios/freshness.ts';
import { soak } from './scenarios/soak.ts';
import { scaleOut } from './scenarios/scale-out.ts';
import { ingest } from './scenarios/ingest.ts';

const SCENARIOS: Record<number, (o: ScenarioOptions) => Promise<ScenarioReport>> = {
  1: cachedQuery,
  2: dashboardReplay,
  3: routing,
  4: freshness,
  5: soak,
  6: scaleOut,
  7: ingest,
};

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    duration: { type: 'string' },
    round: { type: 'string' },
    'cpu-prof': { type: 'boolean' },
  },
  strict: true,
});

function seconds(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 1 || n > 3600) {
    console.error(`--${flag} must be a number of seconds from 1 to 3600 (got "${text}").`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const ids = (values.scenario ?? Object.keys(SCENARIOS)).map(Number);
  for (const id of ids) {
    if (!SCENARIOS[id]) {
      console.error(`--scenario ${id}: no such scenario; choose from ${Object.keys(SCENARIOS).join(', ')}.`);
      process.exit(2);
    }
  }
  const dir = join(ROOT, '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  // Strata runs compiled, as `npm start` runs it (the bench servers start from dist/).
  if (spawnSync('bash', [join(ROOT, 'scripts/build.sh')], { stdio: 'inherit' }).status !== 0) process.exit(1);
  // Scenario 6's load generator (Debian's wrk), installed on first use.
  if (ids.includes(6) && spawnSync('bash', [join(ROOT, 'scripts/wrk.sh')], { stdio: 'inherit' }).status !== 0) process.exit(1);
  if (values['cpu-prof']) {
    process.env['BENCH_CPU_PROF_DIR'] = join(dir, 'profiles');
    console.log(
      `CPU profiles of the Strata processes go to ${join(dir, 'profiles')}; read one with \`node --import tsx bench/profile-summary.ts FILE\`.`,
    );
  }
  const options: ScenarioOptions = {
    dir,
    roundS: seconds(values.round, DEFAULT_ROUND_S, 'round'),
    soakS: seconds(values.duration, DEFAULT_SOAK_S, 'duration'),
  };
  const run = runRecord(options);
  const commit = run.commit ? ` · commit ${run.commit.id}${run.commit.dirty ? ' (with uncommitted changes)' : ''}` : '';
  const header = `Run ${run.startedAt} · Node ${run.node} · ${run.cores} cores (${run.cpu})${commit} · \`${run.command}\``;
  console.log(`${header}\n`);
  const parts = [header, ''];
  const reports: ScenarioReport[] = [];
  for (const id of ids) {
    const started = Date.now();
    const report = await SCENARIOS[id]!(options);
    const text = `${markdown(report)}\n_(${((Date.now() - started) / 1000).toFixed(0)} s)_\n`;
    console.log(text);
    parts.push(text);
    reports.push(report);
    // Saved after every scenario, so a long run that fails late keeps what it measured.
    writeFileSync(join(dir, 'last-run.md'), parts.join('\n'));
    writeFileSync(join(dir, 'last-run.json'), `${JSON.stringify({ ...run, scenarios: reports })}\n`);
  }
  const charts = writeCharts([{ ...run, scenarios: reports }], join(ROOT, RUN_CHARTS_DIR), true);
  if (charts.length > 0) {
    console.log(
      `${charts.length} charts of this run in ${RUN_CHARTS_DIR}/. To publish them where BENCHMARKS.md shows them:\n  cp ${RUN_CHARTS_DIR}/*.svg ${PUBLISHED_DIR}/\n`,
    );
  }
  console.log(reports.every((r) => r.met) ? 'All targets met.' : 'Some targets were missed (see above).');
}

/** What the run was: when, on what, with which command and settings (its scenarios are added as they finish). */
function runRecord(options: ScenarioOptions): RunRecord {
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const cpu = cpus()[0]?.model ?? 'unknown';
  return {
    startedAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    cpu,
    command,
    commit: commitOf(),
    load1: loadavg()[0],
    roundS: options.roundS,
    soakS: options.soakS,
    scenarios: [],
  };
}

/** The commit the run measured, and whether tracked files differed from it (read only: no index refresh, no lock). */
function commitOf(): RunRecord['commit'] {
  const git = (...args: string[]) => spawnSync('git', ['--no-optional-locks', ...args], { cwd: ROOT, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return null;
  return { id: head.stdout.trim(), dirty: git('diff', '--quiet', 'HEAD', '--').status !== 0 };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
