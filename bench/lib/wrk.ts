import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from '../load-generator.ts';
import { runToEnd } from './children.ts';
import { childrenCpuSeconds } from './cpu-time.ts';

/**
 * wrk (C, Debian's package, installed by scripts/wrk.sh) as the load
 * generator of scenario 6. It spends about 0.03 ms of CPU a request against
 * autocannon's 0.15–0.26 ms (both measured from /proc in scenario 6's rounds):
 * on two cores shared with the servers, that is the CPU a second worker gets
 * or does not get.
 * One thread, one request body: that is all scenario 6 sends.
 */

/** The line our Lua `done` prints, so it is found among wrk's own report. */
const MARK = 'STRATA_WRK ';

/** A LoadResult plus the CPU the generator itself spent (its start included; wrk's is about 1 ms). */
export interface WrkResult extends LoadResult {
  readonly generatorCpuS: number;
}

/**
 * A Lua string literal for any text: every byte outside printable ASCII, and
 * `"` and `\`, as a decimal escape (`\ddd`), the one escape LuaJIT shares with
 * Lua 5.1 for every byte (JSON's `\uXXXX` is not Lua).
 */
export function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** The wrk script for one POST: the request is built once by wrk and sent as is. */
export function wrkScript(spec: LoadSpec): string {
  const [request, ...rest] = spec.requests;
  if (!request || rest.length > 0)
    throw new Error(
      `wrk sends one request body; this spec has ${spec.requests.length} (weighted mixes run on the autocannon generator, bench/load-generator.ts)`,
    );
  const headers = Object.entries(request.headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  // latency is in microseconds; errors.status counts answers with status >= 400.
  const done = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%d,"us":%d,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"status":%d,"errors":%d,"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write, e.timeout))
end`;
  return ['wrk.method = "POST"', `wrk.body = ${luaString(request.body)}`, ...headers, done, ''].join('\n');
}

/** wrk's output, read into the autocannon generator's figures. */
export function parseWrkOutput(stdout: string): LoadResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (!line) throw new Error(`wrk printed no ${MARK.trim()} line:\n${stdout.slice(-2000)}`);
  const r = JSON.parse(line.slice(MARK.length)) as Record<
    'requests' | 'us' | 'p50' | 'p90' | 'p99' | 'max' | 'status' | 'errors' | 'timeouts',
    number
  >;
  const ms = (us: number): number => Math.round(us / 10) / 100;
  return {
    requests: r.requests,
    rps: r.requests / (r.us / 1e6),
    p50: ms(r.p50),
    p90: ms(r.p90),
    p99: ms(r.p99),
    max: ms(r.max),
    non2xx: r.status,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/** Runs wrk (one thread) against spec.url and returns its figures and its own CPU time. */
export async function runWrk(spec: LoadSpec): Promise<WrkResult> {
  const script = join(tmpdir(), `strata-bench-wrk-${process.pid}.lua`);
  writeFileSync(script, wrkScript(spec));
  const before = childrenCpuSeconds();
  const out = await runToEnd(
    'wrk',
    ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', '10s', '-s', script, spec.url],
    'wrk',
  );
  // Reaped children's CPU lands in ours (cutime + cstime); only wrk exited meanwhile.
  return { ...parseWrkOutput(out), generatorCpuS: childrenCpuSeconds() - before };
}
