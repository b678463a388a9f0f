import { createHash } from 'node:crypto';
import { scopeId, type TenantScope } from '../planner/query.ts';

export type Role = 'customer' | 'internal' | 'billing';
export const ROLES: readonly Role[] = ['customer', 'internal', 'billing'];

/**
 * The verified caller. Built from a token only; never from query arguments.
 * A customer always has its tenant: a customer without one cannot be built,
 * so no code path can fall back to another scope for it.
 */
export type Principal =
  | { readonly role: 'customer'; readonly subject: string; readonly tenantId: string }
  | { readonly role: 'internal' | 'billing'; readonly subject: string; readonly tenantId?: undefined };

/** The principal a verified role, subject and tenant claim make. */
export function principalFor(role: Role, subject: string, tenantId: string | undefined): Principal {
  if (role !== 'customer') return { role, subject };
  if (!tenantId) throw new Error('a customer principal needs its tenant');
  return { role, subject, tenantId };
}

/** Customers see their tenant; internal and billing roles widen the scope explicitly. */
export function scopeOf(principal: Principal): TenantScope {
  return principal.role === 'customer' ? { kind: 'tenant', tenantId: principal.tenantId } : { kind: 'all' };
}

/**
 * The key of a caller's fair shares (quotas, in-flight slots, store slots,
 * breakers): its tenant for customers, its role and subject otherwise.
 */
export function callerKey(principal: Principal): string {
  return principal.role === 'customer' ? scopeId(scopeOf(principal)) : `${principal.role}:${principal.subject}`;
}

/** A token's identity for per-token shares: a hash, so the token itself is never kept as a key. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}
