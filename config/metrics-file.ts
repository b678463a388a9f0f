import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config-error.ts';
import { EnvSchema } from './env-schema.ts';

/** The registry shipped with Strata (built into dist/catalog/ beside the compiled catalog). */
export const BUNDLED_METRICS_FILE = fileURLToPath(new URL('../catalog/metrics.json', import.meta.url));

export interface MetricsFileSource {
  /** The file read, as the operator named it (or the bundled one's path). */
  readonly file: string;
  readonly text: string;
}

/** Where the registry comes from: STRATA_METRICS_FILE (relative to the working directory), else the bundled file. */
export function metricsFilePath(source: NodeJS.ProcessEnv = process.env): string {
  // An empty value is unset, as for every variable (config.ts).
  const value = source['STRATA_METRICS_FILE'] || undefined;
  const parsed = EnvSchema.shape.STRATA_METRICS_FILE.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(
      `Invalid configuration:\n  STRATA_METRICS_FILE: ${parsed.error.issues[0]?.message ?? 'invalid'}; set a path to a JSON registry file, or unset it for the bundled one.`,
    );
  return resolveMetricsFile(parsed.data);
}

/** The validated STRATA_METRICS_FILE as an absolute path (unset: the bundled file). */
export const resolveMetricsFile = (file: string | undefined): string =>
  file === undefined ? BUNDLED_METRICS_FILE : isAbsolute(file) ? file : resolve(file);

/**
 * The registry file's text. The catalog reads it once, when it is first
 * imported, because the label columns it defines shape every table and
 * statement of the stores: the registry is fixed for the life of a process
 * (cluster workers read the same file, as they inherit the environment).
 */
export function readMetricsFile(source: NodeJS.ProcessEnv = process.env): MetricsFileSource {
  const file = metricsFilePath(source);
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `Invalid configuration:\n  STRATA_METRICS_FILE: cannot read the metric registry ${file} (${reason}). ` +
        'Point STRATA_METRICS_FILE at a readable JSON file (see README.md, "Adding a metric"), or unset it for the bundled catalog/metrics.json.',
    );
  }
}
