import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ROOT } from './server-process.ts';

/** Real servers are started by `npm test` (scripts/test.sh); a test never mocks them. */
export function serviceEnv(name: 'REDIS_URL' | 'KAFKA_BROKERS'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm test\`, which starts Redis and Kafka on loopback.`);
  return value;
}

export function kafkaScript(command: 'start' | 'stop'): void {
  execFileSync('bash', ['scripts/kafka.sh', command], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  return port;
}

/** A private redis-server for fault tests, which kill and pause it. */
export async function privateRedis(): Promise<{ url: string; process: ChildProcess; port: number; stop(): void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('private redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `redis://127.0.0.1:${port}`, process: child, port, stop: () => child.kill('SIGKILL') };
}
