import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export const ROOT = new URL('../../', import.meta.url).pathname;

export interface RunningServer {
  readonly url: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts the real server process (`npm start -- --db FILE`; without a file for STRATA_STORE=druid)
 * on a free loopback port and waits for /healthz. A start that catches rollups up with MSQ on Druid
 * may need a longer `startMs`.
 */
export async function startServer(db: string | undefined, env: Record<string, string>, startMs = 60_000): Promise<RunningServer> {
  const child = spawn('npm', ['start', '--silent', '--', ...(db === undefined ? [] : ['--db', db]), '--port', '0'], {
    cwd: ROOT,
    // The demo feed would write into the test's dataset: a test that wants it says so.
    env: { ...process.env, STRATA_DEMO_FEED: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + startMs;
  let url: string | undefined;
  while (!url) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}`);
    url = /GraphQL: (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(out)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  const health = await fetch(`${url}/healthz`);
  if (health.status !== 200) throw new Error(`healthz answered ${health.status}`);
  return {
    url,
    process: child,
    output: () => out,
    async stop() {
      const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
      if (gone()) return;
      process.kill(-(child.pid ?? 0), 'SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
      if (!gone()) process.kill(-(child.pid ?? 0), 'SIGKILL');
    },
  };
}

/** What `npm run seed` is asked to write (see scripts/seed.ts). */
export interface SeedFlags {
  readonly seed?: number;
  readonly tenants: number;
  readonly clusters: number;
  readonly topics: number;
  readonly partitions: number;
  readonly days: number;
  /** ISO instant the data ends at. */
  readonly end: string;
}

/** Writes a DuckDB file the way a user does: `npm run seed -- --db FILE ...`; rejects with its stderr. */
export function npmSeed(db: string, flags: SeedFlags): Promise<void> {
  const args = ['--db', db, ...Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)])];
  const child = spawn('npm', ['run', '--silent', 'seed', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run seed failed (${code}): ${err}`)))),
  );
}

/** Mints a token the way a user does: `npm run token -- ...`. */
export function npmToken(args: string[], env: Record<string, string> = {}): string {
  const result = spawnSync('npm', ['run', '--silent', 'token', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`npm run token failed: ${result.stderr}`);
  return result.stdout.trim();
}

export interface GraphQLResponse {
  readonly status: number;
  readonly body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

export async function graphql(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: (await response.json()) as GraphQLResponse['body'] };
}
