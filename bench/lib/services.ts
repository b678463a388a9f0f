import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './children.ts';

/**
 * A private Redis and Kafka for the bench (scripts/redis.sh, scripts/kafka.sh)
 * in their own state folder (STRATA_IT_DIR=.it/bench), so the bench never
 * stops anyone else's servers, and stops them when it is done.
 */
export interface Services {
  readonly env: Record<string, string>;
  stop(): void;
}

const itDir = join(ROOT, '.it', 'bench');

function script(name: 'redis.sh' | 'kafka.sh', command: 'start' | 'stop' | 'env'): string {
  return execFileSync('bash', [join('scripts', name), command], {
    cwd: ROOT,
    env: { ...process.env, STRATA_IT_DIR: itDir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split('\n').flatMap((line) => {
      const m = /^(?:export )?([A-Z_]+)=(.*)$/.exec(line.trim());
      return m?.[1] && m[2] !== undefined ? [[m[1], m[2].replace(/^['"]|['"]$/g, '')]] : [];
    }),
  );
}

export function startServices(): Services {
  script('redis.sh', 'start');
  try {
    script('kafka.sh', 'start');
  } catch (error) {
    script('redis.sh', 'stop');
    throw error;
  }
  const env = { ...parseEnv(script('redis.sh', 'env')), ...parseEnv(script('kafka.sh', 'env')) };
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const name of ['kafka.sh', 'redis.sh'] as const) {
      try {
        script(name, 'stop');
      } catch (error) {
        console.error(`${name} stop failed: ${String(error)}`);
      }
    }
  };
  process.once('exit', stop);
  return { env, stop };
}
