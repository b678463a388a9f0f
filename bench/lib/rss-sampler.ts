import { readFile } from 'node:fs/promises';

export interface RssSample {
  /** Seconds since the sampler started. */
  readonly t: number;
  readonly rss: number;
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
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb) samples.push({ t: (Date.now() - start) / 1000, rss: Number(kb) * 1024 });
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
