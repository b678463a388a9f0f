import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintDevToken } from '../../auth/mint-token.ts';
import type { Role } from '../../auth/principal.ts';
import { loadConfig } from '../../config/config.ts';
import { ROOT } from './children.ts';

/** A fixed clock for scenarios that must not slide mid-run (the e2e suite's). */
export const FIXED_END = '2026-11-20T00:00:00Z';

export interface SeedArgs {
  readonly seed: number;
  readonly tenants: number;
  readonly clusters: number;
  readonly topics: number;
  readonly partitions: number;
  readonly days: number;
  readonly end: string;
}

/**
 * How the seed lays data out. Bump it when that changes (2: rollups in series order; 3: the cluster first), so that
 * reused data sets are generated again rather than measured in an older layout.
 */
const DATASET_FORMAT = 3;

/**
 * `npm run seed -- ...` into FILE; with `reuse`, an existing file made with the same arguments and
 * format (FILE.seeded says which) is kept: the 89M-row set takes a while.
 */
export function seed(file: string, args: SeedArgs, reuse = false): string {
  mkdirSync(join(file, '..'), { recursive: true });
  const stamp = JSON.stringify({ format: DATASET_FORMAT, args });
  const stampFile = `${file}.seeded`;
  if (reuse && existsSync(file) && statSync(file).size > 0 && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp)
    return `reused ${file}`;
  rmSync(stampFile, { force: true });
  const flags = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const result = spawnSync('npm', ['run', '--silent', 'seed', '--', '--db', file, ...flags], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run seed failed: ${result.stderr}${result.stdout}`);
  writeFileSync(stampFile, stamp);
  return result.stdout.trim().split('\n')[0] ?? '';
}

/**
 * A fresh copy of a data file, so that two servers side by side never share one (DuckDB allows one process per file).
 * The write-ahead log travels with its file: a copy's log left from an earlier run would be replayed onto
 * the new copy (its row-id deletes hitting other rows), which once made scenario 4 see wrong totals.
 */
export function twinOf(file: string, copy: string): string {
  for (const stale of [copy, `${copy}.wal`]) rmSync(stale, { force: true });
  copyFileSync(file, copy);
  if (existsSync(`${file}.wal`)) copyFileSync(`${file}.wal`, `${copy}.wal`);
  return copy;
}

/** A development token, as `npm run token` mints it (same secret, issuer and audience). */
export function token(role: Role, tenantId?: string): string {
  return mintDevToken(loadConfig({}).jwt, { role, ttlSeconds: 24 * 3600, ...(tenantId ? { tenantId } : {}) });
}

export const jsonHeaders = (bearer: string): Record<string, string> => ({
  'content-type': 'application/json',
  authorization: `Bearer ${bearer}`,
});
