/**
 * npm run bench [-- --scenario N] [-- --duration S] [-- --round S]
 * Runs the benchmark scenarios (see BENCHMARKS.md) and prints their figures
 * as Markdown; the last run is also kept in .cache/bench/last-run.md.
 * Every figure is a ratio or comparison taken side by side in this run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/children.ts';
import { markdown, type ScenarioOptions, type ScenarioReport } from './lib/report.ts';
import { cachedQuery } from './scenarios/cached-query.ts';
import { dashboardReplay } from './scenarios/dashboard-replay.ts';
import { routing } from './scenarios/routing.ts';
import { freshness } from './scenarios/freshness.ts';
import { soak } from './scenarios/soak.ts';
import { scaleOut } from './scenarios/scale-out.ts';

const SCENARIOS: Record<number, (o: ScenarioOptions) => Promise<ScenarioReport>> = {
  1: cachedQuery,
  2: dashboardReplay,
  3: routing,
  4: freshness,
  5: soak,
  6: scaleOut,
};

const { values } = parseArgs({ options: { scenario: { type: 'string', multiple: true }, duration: { type: 'string' }, round: { type: 'string' }, 'cpu-prof': { type: 'boolean' } }, strict: true });

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
    console.log(`CPU profiles of the Strata processes go to ${join(dir, 'profiles')}; read one with \`node --import tsx bench/profile-summary.ts FILE\`.`);
  }
  const options: ScenarioOptions = { dir, roundS: seconds(values.round, 8, 'round'), soakS: seconds(values.duration, 1200, 'duration') };
  const header = `Run ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}) · \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``;
  console.log(header + '\n');
  const parts = [header, ''];
  let allMet = true;
  for (const id of ids) {
    const started = Date.now();
    const report = await SCENARIOS[id]!(options);
    const text = `${markdown(report)}\n_(${((Date.now() - started) / 1000).toFixed(0)} s)_\n`;
    console.log(text);
    parts.push(text);
    allMet &&= report.met;
  }
  writeFileSync(join(dir, 'last-run.md'), parts.join('\n'));
  console.log(allMet ? 'All targets met.' : 'Some targets were missed (see above).');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
