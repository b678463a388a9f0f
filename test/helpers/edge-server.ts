import { once } from 'node:events';
import { createApp, type App } from '../../api/app.ts';
import { createHttpServer, type StrataServer } from '../../api/http-server.ts';
import { mintDevToken } from '../../auth/mint-token.ts';
import type { Role } from '../../auth/principal.ts';
import { loadConfig, type Config, type Env } from '../../config/config.ts';
import type { MetricStore } from '../../store/metric-store.ts';
import { END } from './fixture.ts';

/** One replica: the app behind the real node:http edge on 127.0.0.1 (port 0), with its server exposed. */
export interface Replica {
  readonly app: App;
  readonly server: StrataServer;
  readonly config: Config;
  readonly base: string;
  token(role: Role, tenantId?: string): string;
  stop(): Promise<void>;
}

export async function startReplica(store: MetricStore, env: Partial<Record<keyof Env, string>> = {}): Promise<Replica> {
  const config = loadConfig({}, { STRATA_ENV: 'test', STRATA_NOW: new Date(END).toISOString(), STRATA_LOG_LEVEL: 'silent', ...env });
  const app = await createApp(config, { store });
  const server = createHttpServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app,
    server,
    config,
    base,
    token: (role, tenantId) => mintDevToken(config.jwt, { role, ttlSeconds: 3600, ...(tenantId !== undefined ? { tenantId } : {}) }),
    async stop() {
      server.closeAllConnections();
      server.close();
      await app.close();
    },
  };
}

/** A store whose piece queries take `delayMs` longer: requests stay in flight long enough to observe. */
export function slowStore(store: MetricStore, delayMs: number): MetricStore {
  const slow: MetricStore = Object.create(store) as MetricStore;
  return Object.assign(slow, {
    queryPieces: async (request: Parameters<MetricStore['queryPieces']>[0]) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return store.queryPieces(request);
    },
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly code: string | undefined;
  readonly body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

export async function post(
  url: string,
  token: string | undefined,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as HttpAnswer['body'];
  return {
    status: response.status,
    headers: response.headers,
    code: parsed.errors?.[0]?.extensions?.['code'] as string | undefined,
    body: parsed,
  };
}
