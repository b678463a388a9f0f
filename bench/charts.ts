/**
 * node --import tsx bench/charts.ts [RUN.json ...] [--out DIR]
 * Draws the charts of one or more bench runs (`npm run bench` writes
 * .cache/bench/last-run.json) as SVG files, one per chart, named by the
 * chart's id. Default input .cache/bench/last-run.json; default output
 * .cache/bench/charts. `--out docs/bench` publishes them where BENCHMARKS.md
 * embeds them; with several runs, a chart id met again in a later file wins.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readRun, RUN_CHARTS_DIR, writeCharts } from './lib/chart-files.ts';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
  strict: true,
});

if (values.help) {
  console.log(
    'node --import tsx bench/charts.ts [RUN.json ...] [--out DIR]   (default .cache/bench/last-run.json into .cache/bench/charts)',
  );
  process.exit(0);
}

const inputs = positionals.length > 0 ? positionals : [join('.cache', 'bench', 'last-run.json')];
for (const file of inputs) {
  if (!existsSync(file)) {
    console.error(`${file}: no such file; run \`npm run bench\` (or a single scenario, \`npm run bench -- --scenario 1\`) first.`);
    process.exit(2);
  }
}

try {
  const runs = inputs.map(readRun);
  const written = writeCharts(runs, values.out ?? RUN_CHARTS_DIR);
  if (written.length === 0) console.log('No charts: none of these runs has a scenario with series.');
  for (const file of written) console.log(file);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
