import { readFile } from 'node:fs/promises';

export interface RssSample {
  /** Seconds since the sampler started. */
  readonly t: number;
  readonly rss: number;
  /** The anonymous part (heaps, arenas, stacks): what a leak would grow. */
  readonly anon: number;
  /** The file-backed part: code and data pages of node, libduckdb and the other mapped files, paged in as they are first touched. */
  readonly file: number;
}

/** One memory field of a /proc/<pid>/status text ("VmRSS", "RssAnon", ...), in bytes; NaN when absent. */
export function statusBytes(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
}

/**
 * Samples a process's resident set from /proc/<pid>/status (VmRSS) once every
 * `everyMs`, from outside the process: the reading costs the sampled server
 * nothing and does not wait for its event loop, so it lands at any phase of
 * the load (a sampler inside the server answers between requests, on its own
 * schedule). Linux only, like the bench.
 */
export function sampleRss(pid: number, everyMs = 1000): { stop(): RssSample[] } {
  const samples: RssSample[] = [];
  const start = Date.now();
  const read = async (): Promise<void> => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const rss = statusBytes(status, 'VmRSS');
    if (rss > 0)
      samples.push({ t: (Date.now() - start) / 1000, rss, anon: statusBytes(status, 'RssAnon'), file: statusBytes(status, 'RssFile') });
  };
  void read();
  const timer = setInterval(() => void read(), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}
