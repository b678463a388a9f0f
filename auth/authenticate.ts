import type { JwtConfig } from '../config/config.ts';
import type { Principal } from './principal.ts';
import { AuthenticationError, verifyToken, type AuthLog } from './verify-token.ts';

/**
 * Verifies a bearer token for a route (a JWKS key may need a fetch). The
 * caller sees one generic 401 (AuthenticationError); the log gets the reason
 * and the route, so a refused login can be told apart without telling the client.
 */
export async function authenticate(config: JwtConfig, token: string, route: string, warn: AuthLog): Promise<Principal> {
  try {
    return await verifyToken(token, config, Date.now(), warn);
  } catch (error) {
    if (error instanceof AuthenticationError) warn('authentication failed', { reason: error.reason, route });
    throw error;
  }
}
