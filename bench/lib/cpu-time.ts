import { readdirSync, readFileSync } from 'node:fs';

/** Linux's clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every Linux this runs on). */
const HZ = 100;

/** Fields of /proc/<pid>/stat after the command name, which may hold spaces. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * CPU seconds (user + system, all threads) of every live process in a process
 * group: a bench server is `npm start`'s group, its node process and, with
 * STRATA_WORKERS > 1, the workers. Processes that exited are not counted.
 */
export function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    // After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
    if (f && Number(f[2]) === pgid) total += (Number(f[11]) + Number(f[12])) / HZ;
  }
  return total;
}

/** CPU seconds of this process's children that have exited and been waited for (cutime + cstime). */
export function childrenCpuSeconds(): number {
  const f = statFields('self');
  return f ? (Number(f[13]) + Number(f[14])) / HZ : 0;
}
