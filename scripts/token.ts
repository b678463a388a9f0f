/**
 * npm run token -- --role customer|internal|billing [--tenant ID] [--ttl 1h]
 * Prints a development JWT that the running embedded server accepts.
 */
import { parseArgs } from 'node:util';
import { mintDevToken } from '../auth/mint-token.ts';
import { ROLES, type Role } from '../auth/principal.ts';
import { ConfigError, loadConfig } from '../config/config.ts';

const { values } = parseArgs({
  options: { role: { type: 'string' }, tenant: { type: 'string' }, ttl: { type: 'string', default: '1h' }, subject: { type: 'string' } },
});

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const role = values.role as Role | undefined;
if (!role || !ROLES.includes(role)) fail(`--role must be one of ${ROLES.join(', ')} (got "${values.role ?? ''}").`);
if (role === 'customer' && !values.tenant)
  fail('--tenant ID is required for a customer token (e.g. --tenant t-1; list tenants with an internal token and `resources`).');
const ttl = /^(\d+)([smhd])$/.exec(values.ttl ?? '');
if (!ttl) fail(`--ttl must be a number and a unit s, m, h or d, e.g. 1h (got "${values.ttl}").`);
const seconds = Number(ttl[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[ttl[2] ?? 's']!;

try {
  const config = loadConfig();
  console.log(
    mintDevToken(config.jwt, {
      role,
      ttlSeconds: seconds,
      ...(values.tenant ? { tenantId: values.tenant } : {}),
      ...(values.subject ? { subject: values.subject } : {}),
    }),
  );
} catch (error) {
  fail(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
}
