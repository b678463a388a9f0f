import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from '../load-generator.ts';

/** The repository root (bench/lib/ is two levels down). */
export const ROOT = new URL('../../', import.meta.url).pathname;

export interface Child {
  readonly url: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Whatever happens to the bench, its servers go with it.
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null && child.pid) safeKill(-child.pid, 'SIGKILL');
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a server process in its own process group on a free loopback port
 * and waits until it prints its URL (`ready` captures it). stdin stays open:
 * the bench's servers watch it and leave when the bench goes away.
 */
export async function startChild(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 120_000,
): Promise<Child> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!url) {
    if (Date.now() > deadline || child.exitCode !== null) {
      if (child.pid) safeKill(-child.pid, 'SIGKILL');
      throw new Error(`${command} ${args.join(' ')} did not start:\n${out.slice(-4000)}`);
    }
    url = ready.exec(out)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    process: child,
    output: () => out,
    async stop() {
      running.delete(child);
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      // The whole process group: `npm start` exits before the node process it started has closed its store.
      safeKill(-child.pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (groupAlive(child.pid)) safeKill(-child.pid, 'SIGKILL');
    },
  };
}

/**
 * With `npm run bench -- --cpu-prof`, Strata processes write V8 CPU profiles
 * (read them with bench/profile-summary.ts). Node refuses --cpu-prof in
 * NODE_OPTIONS, so a profiled Strata runs as `node --cpu-prof dist/api/main.js`.
 */
const profiling = (): string[] => {
  const dir = process.env['BENCH_CPU_PROF_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
};

const READY = /GraphQL: (http:\/\/127\.0\.0\.1:\d+)\/graphql/;

/** `npm start -- --db DB --port 0`, exactly as a user starts Strata. */
export function startStrata(db: string, env: Record<string, string>): Promise<Child> {
  const args = ['--db', db, '--port', '0'];
  if (profiling().length > 0) return startChild(process.execPath, [...profiling(), 'dist/api/main.js', ...args], env, READY);
  return startChild('npm', ['start', '--silent', '--', ...args], env, READY);
}

/**
 * The bench's own Strata entry (bench/bench-server.ts): the same app, plus an
 * event injector and a stats route, compiled with it by `npm run build` (run
 * by bench/run.ts) so that it runs as `npm start` does: plain Node on dist/.
 */
export function startBenchServer(db: string, env: Record<string, string>): Promise<Child> {
  return startChild(process.execPath, [...profiling(), 'dist/bench/bench-server.js', db], env, READY);
}

export function startBaseline(responseFile: string): Promise<Child> {
  return startChild(
    process.execPath,
    ['--import', 'tsx', 'bench/baseline-server.ts', responseFile],
    {},
    /listening (http:\/\/127\.0\.0\.1:\d+)/,
  );
}

/** Runs the load generator (a second process) against one server and returns its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  // The spec (many request bodies) goes through a file: argv is limited to 128 KB per argument.
  const file = join(tmpdir(), `strata-bench-load-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(spec));
  const out = await runToEnd(process.execPath, ['--import', 'tsx', 'bench/load-generator.ts', file], 'load generator');
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
}

/**
 * Runs a command to its end (the load generators run for a set duration) and
 * returns what it printed on stdout; throws with the tail of its output when
 * it fails.
 */
export async function runToEnd(command: string, args: readonly string[], what: string): Promise<string> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    // once() rejects if the child emits 'error' first (e.g. the command is not installed).
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${what} failed (${code}): ${err.slice(-2000)}${out.slice(-2000)}`);
    return out;
  } finally {
    running.delete(child);
  }
}

/** POSTs one GraphQL body; returns the status and the exact response bytes. */
export async function post(url: string, token: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** The control port of a bench server (bench/bench-server.ts). */
export function controlUrl(child: Child): string {
  const url = /CONTROL (http:\/\/127\.0\.0\.1:\d+)/.exec(child.output())?.[1];
  if (!url) throw new Error('the bench server printed no CONTROL line');
  return url;
}

export async function getJson<T>(url: string, method = 'GET'): Promise<T> {
  const response = await fetch(url, { method });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
